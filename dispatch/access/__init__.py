"""Who may act: staff users and API tokens, signed-in sessions, sign-in and its second factor,
roles and the permission table, rate limits, and the encryption of stored secrets.

Not "accounts": in Loa that word means SMPP accounts (`dispatch.sms.accounts`).
"""
