"""The receiver and the hooks' clock (tests/helpers/hooks.py) for the webhook tests."""

pytest_plugins = ["tests.helpers.hooks"]
