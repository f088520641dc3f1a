"""kill -9 of `flask smpp run` mid-campaign, then a restart: nothing sent twice, nothing lost.

The account is throttled so the kill lands while the campaign sends. What the kill can leave
behind: the rows claimed and not yet recorded (`sending`, at most two chunks of
`dispatch.sms.links.claim_size`, dispatch/sms/send.py), which the clock turns `unknown`
(their submits may have reached the SMSC: never resent). Everything else stays `queued` in
the ledger, where the restarted process claims it: nothing needs enqueuing again.
"""

from __future__ import annotations

from scripts.drills import campaign
from scripts.harness import wait_for
from tests.helpers.drills import COMPLETE_WITHIN, accepted_per_destination, explain

CONTACTS = 1200


def test_kill_9_of_the_smpp_process_mid_campaign_then_restart(make_stack, backend):
    stack = make_stack(workers=1, engine={"CLAIM_TIMEOUT_SECONDS": 10})
    seeded = campaign.seed(stack, contacts=CONTACTS, tps=200, window=10)
    stack.wait_ready()
    cid = campaign.launch(stack, seeded)
    wait_for(lambda: stack.smsc_stats().get("accepted", 0) >= CONTACTS // 4, 40,
             "a quarter sent", tolerate=(OSError, ValueError))
    stack.kill("smpp")
    in_flight = campaign.sending_now(stack, cid)
    at_kill = campaign.status_counts(stack, cid)
    stack.start_process("smpp")

    assert campaign.wait_completed(stack, cid, timeout=COMPLETE_WITHIN), (
        campaign.status_counts(stack, cid), explain(stack))
    result = campaign.figures(stack, cid, seeded, 0.0)
    sent = accepted_per_destination(stack)
    assert max(sent.values()) == 1, [d for d, n in sent.items() if n > 1][:10]
    assert result.duplicates == 0 and result.lost == 0, result
    # Everyone reached or accounted for: delivered, or unknown because the kill cut it off.
    assert result.delivered + result.unknown == CONTACTS, result
    assert at_kill.get("sms.queued", 0) > 0, at_kill  # the kill did land mid-campaign
    assert result.unknown <= in_flight <= campaign.sms_in_flight(seeded), (result, in_flight)
    assert len(sent) >= result.delivered
