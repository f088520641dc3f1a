"""The dispatch engine: from a launched campaign to submits, receipts and completion.

See docs/ENGINE.md for the pipeline and the rules every job follows.
"""
