"""`flask smpp test` against the stand-in, and `flask smpp status` from what the process wrote."""

from __future__ import annotations

from scripts.harness import wait_for
from tests.helpers.factories import add_account


def test_smpp_test_sends_one_message_and_waits_for_its_receipt(app, smsc, account, backend):
    result = app.test_cli_runner().invoke(
        args=["smpp", "test", "viettel", "0912 345 678", "Kiểm tra kết nối", "--wait", "5"])
    assert result.exit_code == 0, result.output
    (record,) = smsc.received("84912345678")
    assert record.source == "LOA" and record.text == "Kiểm tra kết nối"
    assert f"smsc id {record.message_id}" in result.output
    assert "receipt" in result.output and "DELIVRD" in result.output
    assert result.output.rstrip().endswith("DELIVERED")


def test_smpp_test_exits_non_zero_unless_delivered(app, smsc, account, backend):
    smsc.set(outcomes={"UNDELIV": 1.0})
    result = app.test_cli_runner().invoke(
        args=["smpp", "test", "viettel", "84912345678", "x", "--wait", "5"])
    assert result.exit_code == 1 and "UNDELIV" in result.output
    assert result.output.rstrip().endswith("NOT DELIVERED")
    wrong = add_account(smsc, name="wrong", password="nope", operators=[], is_default=False)
    result = app.test_cli_runner().invoke(
        args=["smpp", "test", wrong.name, "84912345678", "x", "--wait", "1"])
    assert result.exit_code == 2 and "ESME_RINVPASWD" in result.output


def test_smpp_status_lists_binds_of_the_running_process(app, redis, smsc, account, smpp,
                                                        backend):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["smpp", "status"])
    assert result.exit_code == 1 and "No smpp process is running" in result.output
    smpp()
    assert wait_for(lambda: "bound" in runner.invoke(args=["smpp", "status"]).output)
    result = runner.invoke(args=["smpp", "status"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("viettel-1"))
    assert " bound " in line
    # Per account: its allowance, the rate achieved, refusals and what limits it (idle: tps).
    assert "limited by" in result.output
    (pace,) = [line for line in result.output.splitlines() if line.startswith("viettel ")]
    assert pace.split()[1] == str(account.tps) and pace.split()[-1] in ("tps", "window")
