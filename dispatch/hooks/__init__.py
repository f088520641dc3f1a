"""Webhooks for systems around Loa: events, their signed delivery, and the registered hooks.

`events` (what is emitted, and the outbox), `deliver` (fan-out, the POST job, retries, the
clock's sweep), `registry` (hooks as admins register them). Transport: gateways.webhook.
"""
