"""Hearing back: what a campaign asks (`ask`), how an answer is read (`parse`), and which
campaign an MO answers (`attribute`)."""
