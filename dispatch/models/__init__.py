"""All tables; importing this module registers every model with the metadata."""

from dispatch.models.apps import AppKey
from dispatch.models.audiences import (
    CHANNELS,
    OPERATORS,
    Contact,
    ContactImport,
    ContactList,
    Device,
    ListMember,
    Locality,
    OptOut,
)
from dispatch.models.campaigns import (
    AuditEvent,
    Campaign,
    CampaignMember,
    CampaignStatus,
    Phase,
    Plan,
    Setting,
)
from dispatch.models.hooks import HookAttempt, HookDelivery, HookEvent, Webhook
from dispatch.models.ledger import (
    InboundMessage,
    Message,
    MessagePart,
    MessageStatus,
    MoFragment,
    RawReceipt,
)
from dispatch.models.replies import Reply, ReplyLabel
from dispatch.models.sms import SmppAccount
from dispatch.models.testlist import TestMember
from dispatch.models.texts import MessageText
from dispatch.models.users import ROLES, ApiToken, User, UserSession

__all__ = [
    "CHANNELS",
    "OPERATORS",
    "ROLES",
    "ApiToken",
    "AppKey",
    "AuditEvent",
    "Campaign",
    "CampaignMember",
    "CampaignStatus",
    "Contact",
    "ContactImport",
    "ContactList",
    "Device",
    "HookAttempt",
    "HookDelivery",
    "HookEvent",
    "InboundMessage",
    "ListMember",
    "Locality",
    "Message",
    "MessagePart",
    "MessageStatus",
    "MessageText",
    "MoFragment",
    "OptOut",
    "Phase",
    "Plan",
    "RawReceipt",
    "Reply",
    "ReplyLabel",
    "Setting",
    "SmppAccount",
    "TestMember",
    "User",
    "UserSession",
    "Webhook",
]
