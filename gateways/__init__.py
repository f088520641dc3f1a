"""Transport to the outside world: SMPP, SMS encoding, FCM.

Imports neither Flask nor SQLAlchemy nor anything from `dispatch`: plain values in and out.
"""
