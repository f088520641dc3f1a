"""Every `flask`/`loa` command of Loa, given bad input (missing ids, unknown names, bad numbers,
bad files, what exists already), answers a one-line error (or, for an import, its report) and a
non-zero exit — never a traceback, and never only through the safety net of `dispatch.cli.guard`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask

from tests.helpers.factories import add_account, make_user

# Flask's and its extensions' own groups (db, openapi, run, shell, routes) are not Loa's.
FOREIGN = {"db", "openapi", "run", "shell", "routes"}


def _bad_inputs(tmp: Path) -> list[list[str]]:
    binary = tmp / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    empty = tmp / "empty.csv"
    empty.write_bytes(b"")
    folder = tmp / "folder"
    folder.mkdir()
    missing = str(tmp / "missing.csv")
    return [
        ["users", "create", "admin1", "--role", "editor"],  # exists already
        ["users", "create", "ADMIN1", "--role", "editor"],  # the same name, other case
        ["users", "create", "bad name!", "--role", "editor"],
        ["users", "create", "", "--role", "editor"],
        ["users", "create", "x" * 300, "--role", "editor"],
        ["users", "create", "lan", "--role", "emperor"],
        ["users", "create", "lan"],
        ["users", "create", "lan", "--role", "editor", "--name", "a\x00b"],
        ["users", "ensure-admin", "--username", "bad name!"],
        ["tokens", "create", "nobody"],
        ["tokens", "create", "admin1", "--name", ""],
        ["tokens", "create", "admin1", "--name", "x" * 500],
        ["tokens", "create"],
        ["demo", "seed", "--contacts", "-5"],
        ["demo", "seed", "--contacts", "many"],
        ["demo", "seed", "--devices", "-1"],
        ["demo", "answers", "--timeout", "0"],
        ["demo", "answers", "--timeout", "soon"],
        ["demo", "answers", "--control", "http://127.0.0.1:1", "--timeout", "1"],  # no survey
        ["smpp", "account", "add", "viettel2"],
        ["smpp", "account", "add", "demo", "--host", "h", "--port", "2775", "--system-id", "s",
         "--password", "p"],  # exists already
        ["smpp", "account", "add", "v3", "--host", "h", "--port", "99999", "--system-id", "s",
         "--password", "p"],
        ["smpp", "account", "add", "v4", "--host", "h", "--port", "x", "--system-id", "s",
         "--password", "p"],
        ["smpp", "account", "add", "v5", "--host", "h", "--port", "2775", "--system-id", "s",
         "--password", "p", "--tps", "-3", "--operators", "nokia"],
        ["smpp", "account", "update", "nobody", "--tps", "5"],
        ["smpp", "account", "update", "demo", "--tps", "0"],
        ["smpp", "account", "update", "demo", "--rename", ""],
        ["smpp", "account", "remove", "nobody", "--yes"],
        ["smpp", "account", "ensure-demo", "--port", "-1"],
        ["smpp", "account", "ensure-demo", "--port", "abc"],
        ["smpp", "run", "--account", "nobody"],
        ["smpp", "run", "--poll", "-1"],
        ["smpp", "test", "nobody", "0912345678", "Thử"],
        ["smpp", "test", "demo", "not-a-number", "Thử", "--wait", "1"],
        ["smpp", "test", "demo", "0912345678", "", "--wait", "1"],
        ["smpp", "test", "demo", "0912345678", "Thử", "--wait", "-1"],
        ["smpp", "test", "demo", "0912345678", "Thử", "--sender", "MUCH-TOO-LONG-NAME"],
        ["appkeys", "create", ""],
        ["appkeys", "create", "k", "--rate-limit", "0"],
        ["appkeys", "revoke", "999"],
        ["appkeys", "revoke", "abc"],
        ["appkeys", "verifies-numbers", "999", "on"],
        ["appkeys", "verifies-numbers", "1", "maybe"],
        ["contacts", "import", missing, "--list", "L"],
        ["contacts", "import", str(folder), "--list", "L"],
        ["contacts", "import", str(binary), "--list", "L"],
        ["contacts", "import", str(empty), "--list", "L"],
        ["contacts", "import", str(binary), "--list", ""],
        ["contacts", "import", str(binary), "--list", "L", "--existing-list"],
        ["contacts", "import", str(binary), "--list", "L", "--batch-size", "0"],
        ["contacts", "import", str(binary), "--list", "L", "--as", "nobody"],
        ["localities", "import", missing],
        ["localities", "import", str(binary)],
        ["localities", "import", str(empty)],
        ["push", "test", "", "--title", "T", "--body", "B"],
        ["push", "test", "tok", "--title", "", "--body", "B"],
        ["push", "test", "tok", "--title", "T" * 5000, "--body", "B"],
        ["push", "unblock", "999"],
        ["push", "unblock", "abc"],
        ["push", "mode", "999"],
        ["push", "mode", "-1"],
        ["push", "prune-devices", "--days", "0"],
        ["push", "prune-devices", "--days", "x"],
        ["data", "export", "not-a-number"],
        ["data", "export", "0292 3870 123"],
        ["data", "export", ""],
        ["data", "erase", "not-a-number", "--reason", "yêu cầu"],
        ["data", "erase", "+849", "--reason", "yêu cầu"],
        ["data", "erase", "0912\x00345678"],
        ["clock", "--interval", "-1"],
        ["clock", "--interval", "x"],
        ["worker", "--queue", "nope", "--burst"],
        ["secrets", "rotate", "extra"],
    ]


def _loa_commands(app: Flask) -> set[str]:
    """Every leaf command of Loa's groups, as `group sub …`."""
    found: set[str] = set()

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            found.add(" ".join(path))

    for name, cmd in app.cli.commands.items():
        if name not in FOREIGN:
            walk(cmd, [name])
    return found


def test_every_command_answers_bad_input_with_one_line(app: Flask, backend: str, redis: Any,
                                                      tmp_path: Path,
                                                      ) -> None:
    make_user("admin1", ["admin"])
    add_account(name="demo", operators=["viettel"])
    runner = app.test_cli_runner()  # its output holds stdout and stderr
    cases = _bad_inputs(tmp_path)
    tried = {" ".join(c for c in args if not c.startswith("-"))
             for args in cases}
    untried = {command for command in _loa_commands(app)
               if not any(t == command or t.startswith(command + " ") for t in tried)}
    # Commands that take no input cannot be given bad input.
    assert untried <= {"seed", "users list", "appkeys list", "smpp account list", "smpp status",
                       "localities list", "data retain"}, untried
    bad = []
    for args in cases:
        result = runner.invoke(args=args)
        text = result.output
        lines = [line for line in text.splitlines() if line.strip()]
        problem = None
        if result.exit_code == 0:
            problem = "exit status 0"
        elif "Traceback" in text or (result.exception is not None
                                     and not isinstance(result.exception, SystemExit)):
            problem = f"traceback: {result.exception!r}"
        elif len([line for line in lines if line.startswith("Error: ")]) > 1 or not lines:
            problem = "not one error line"  # click's usage errors add the usage above it
        elif "Unexpected error" in text:
            problem = "caught only by the safety net"
        if problem:
            bad.append(f"{' '.join(args)[:80]}: {problem}\n    {text.strip()[-300:]}")
    assert not bad, f"{len(bad)} of {len(cases)}:\n" + "\n".join(bad)
