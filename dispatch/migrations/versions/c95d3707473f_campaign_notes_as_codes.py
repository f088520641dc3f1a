"""campaigns: why a campaign paused and how its pushes went, stored as codes

`pause_reason` and `push_mode_reason` held English sentences ("paused by staff", "Per-device
sends: topic sends are turned off (LOA_PUSH_TOPICS), …"); they now hold the codes of
dispatch.campaigns.notes (`staff`, `topics_off`, `gateway_failures?count=5&account=…`),
which the API returns as they are and the pages put in words. A reason typed by a person is
left as typed. So does the audit's reason of `campaign.void` ("Edited while approved: the
approval is void." → `voided?what=approval&status=approved`). And two English texts of data
Loa wrote itself: the first admin's name ("Administrator") and the demo list's description.
The downgrade writes the sentences back.

Revision ID: c95d3707473f
Revises: e3b9c41d7a05
Create Date: 2026-12-02 05:40:00.000000

"""
import re
from urllib.parse import parse_qsl, urlencode

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c95d3707473f'
down_revision = 'e3b9c41d7a05'
branch_labels = None
depends_on = None

# (code, the sentence the code replaces, with its values as named groups): the texts written
# before this revision, word for word (dispatch/campaigns/service.py, dispatch/sms/recorder.py,
# dispatch/push/topic.py).
SENTENCES = [(code, re.compile(pattern)) for code, pattern in (
    ("staff", r"paused by staff"),
    ("system", r"paused by the system"),
    ("gateway_failures", r"Paused automatically: (?P<count>\d+) consecutive gateway failures on "
                         r"SMPP account '(?P<account>[^']*)' \(last: (?P<last>.*)\)\."),
    ("topics_off", r"Per-device sends: topic sends are turned off \(LOA_PUSH_TOPICS\), so every "
                   r"device has its own ledger row and result\."),
    ("many_localities", r"Per-device sends: the audience is (?P<localities>\d+) localities; a "
                        r"topic send covers all app users or one locality\."),
    ("no_device", r"Per-device sends: the audience has no active device\."),
    ("not_subscribed", r"Per-device sends: (?P<missing>[\d,]+) of (?P<targeted>[\d,]+) targeted "
                       r"devices have not reported subscribing to '(?P<topic>[^']*)'\."),
    ("outside_subscribed", r"Per-device sends: (?P<outside>[\d,]+) devices? subscribed to "
                           r"'(?P<topic>[^']*)' (?:is|are) outside the audience \(opted out "
                           r"of push, or registered elsewhere\)\."),
    ("joined_since_approval", r"Per-device sends: (?P<devices>[\d,]+) devices joined the "
                              r"audience after it was approved; a topic send would reach them "
                              r"too\."),
    ("payload_not_for_topic", r"Per-device sends: (?P<why>.+)\."),
    ("topic", r"Topic send to '(?P<topic>[^']*)': one request for the (?P<devices>[\d,]+) "
              r"active devices of the audience, all subscribed; no per-device results\."),
    ("topic", r"Topic send\."),
    ("voided", r"Edited while (?P<status>\w+): the (?P<what>approval|submission) is void\."),
)]
BACK = {
    "staff": "paused by staff",
    "system": "paused by the system",
    "gateway_failures": "Paused automatically: {count} consecutive gateway failures on SMPP "
                        "account '{account}' (last: {last}).",
    "topics_off": "Per-device sends: topic sends are turned off (LOA_PUSH_TOPICS), so every "
                  "device has its own ledger row and result.",
    "many_localities": "Per-device sends: the audience is {localities} localities; a topic send "
                       "covers all app users or one locality.",
    "no_device": "Per-device sends: the audience has no active device.",
    "not_subscribed": "Per-device sends: {missing} of {targeted} targeted devices have not "
                      "reported subscribing to '{topic}'.",
    "outside_subscribed": "Per-device sends: {outside} devices subscribed to '{topic}' are "
                          "outside the audience (opted out of push, or registered elsewhere).",
    "joined_since_approval": "Per-device sends: {devices} devices joined the audience after it "
                             "was approved; a topic send would reach them too.",
    "payload_not_for_topic": "Per-device sends: {why}.",
    "topic": "Topic send to '{topic}': one request for the {devices} active devices of the "
             "audience, all subscribed; no per-device results.",
    "voided": "Edited while {status}: the {what} is void.",
}
# Loa's own English data, and its Vietnamese.
NAMES = (("users", "full_name", "Administrator", "Quản trị viên"),
         ("contact_lists", "description", "Generated for the demo", "Dữ liệu mẫu để trình diễn"))
COLUMNS = ("pause_reason", "push_mode_reason")
campaigns = sa.table("campaigns", sa.column("id", sa.BigInteger),
                     *(sa.column(name, sa.Text) for name in COLUMNS))


def to_code(text):
    for code, pattern in SENTENCES:
        found = pattern.fullmatch(text)
        if found:
            values = {k: v.replace(",", "") if k not in ("account", "last", "why", "topic") else v
                      for k, v in found.groupdict().items()}
            return f"{code}?{urlencode(values)}" if values else code
    return None


def to_sentence(text):
    code, _, query = text.partition("?")
    if code not in BACK or " " in query:
        return None
    values = dict(parse_qsl(query))
    try:
        return BACK[code].format(**values)
    except KeyError:  # a code written without some value
        return None


audit = sa.table("audit_events", sa.column("id", sa.BigInteger), sa.column("action", sa.String),
                 sa.column("reason", sa.Text))


def _rewrite(convert):
    bind = op.get_bind()
    for column in COLUMNS:
        field = getattr(campaigns.c, column)
        rows = bind.execute(sa.select(campaigns.c.id, field).where(field.is_not(None))).all()
        for campaign_id, text in rows:
            new = convert(text)
            if new is not None and new != text:
                bind.execute(campaigns.update().where(campaigns.c.id == campaign_id)
                             .values({column: new}))
    rows = bind.execute(sa.select(audit.c.id, audit.c.reason).where(
        audit.c.action == "campaign.void", audit.c.reason.is_not(None))).all()
    for event_id, text in rows:
        new = convert(text)
        if new is not None and new != text:
            bind.execute(audit.update().where(audit.c.id == event_id).values(reason=new))


def _rename(pairs):
    for table, column, old, new in pairs:
        rows = sa.table(table, sa.column(column, sa.Text))
        op.get_bind().execute(rows.update().where(getattr(rows.c, column) == old)
                              .values({column: new}))


def upgrade():
    _rewrite(to_code)
    _rename(NAMES)


def downgrade():
    _rewrite(to_sentence)
    _rename((table, column, new, old) for table, column, old, new in NAMES)
