"""Campaigns: content, audience, the two-person approval lifecycle and its audit trail.

`lifecycle` holds the transition table, `content` the fields and the frozen snapshot,
`audience` the audience definition and recipient estimates, `service` the actions views call,
`history` the diff between snapshots, `estimate` the preview of a campaign.
"""
