"""Fixtures for the SMS pipeline tests: an editor, an account on the stand-in SMSC and a sending
campaign. The SMSC and the smpp process shape (threads) are fixtures of tests/helpers/sms.py."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.models import Campaign, SmppAccount, User
from scripts.smsc import Smsc
from tests.helpers.factories import add_account, make_user
from tests.helpers.sms import make_campaign


@pytest.fixture()
def editor(app: Any) -> User:
    return make_user("editor1", ["editor"])


@pytest.fixture()
def account(app: Any, smsc: Smsc) -> SmppAccount:
    return add_account(smsc, is_default=True)  # the route of every number


@pytest.fixture()
def campaign(editor: User) -> Campaign:
    return make_campaign(editor)


