"""Alerts that reach people: real local receivers for ntfy, a JSON webhook and email (SMTP).

The receivers are real servers on 127.0.0.1: a threaded http.server standing in for ntfy
and a generic webhook, and aiosmtpd for ``mailto://``. keyz runs as a subprocess against
the https simulator, over several syncs with changing figures.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from keyz.alerting import ascii_safe, compose
from keyz.check import events
from keyz.health import Kind, Problem
from keyz.state import Said, Told
from tests.conftest import CANARY, OPENROUTER_KEY, MakeStore, Sandbox, leaked
from tests.test_check import configure, set_deepseek

CHANNEL_TOKEN = "tk_notifycanary5d41402abc4b2a76b9719d91"  # the ntfy password: a secret too


class HttpReceiver:
    """A loopback HTTP server that keeps every request; ``status`` is what it answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("utf-8", "replace")
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def text(self) -> str:
        return "\n".join(json.dumps(r) for r in self.requests)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"

    def __init__(self) -> None:
        self.messages: list[str] = []


@pytest.fixture
def receivers() -> Iterator[tuple[HttpReceiver, HttpReceiver, Mailbox, int]]:
    ntfy, hook, mailbox = HttpReceiver(), HttpReceiver(), Mailbox()
    with socket.socket() as probe:  # aiosmtpd's Controller needs a port it can connect to
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    yield ntfy, hook, mailbox, port
    smtp.stop()
    ntfy.stop()
    hook.stop()


def notify_store(
    make_sandbox: MakeStore, simulator: Any, ntfy: HttpReceiver, hook: HttpReceiver, smtp: int
) -> Sandbox:
    ntfy_url = f"ntfy://keyz:{CHANNEL_TOKEN}@127.0.0.1:{ntfy.port}/keyz-alerts"
    mail_url = f"mailto://127.0.0.1:{smtp}?from=keyz@example.com&to=oncall@example.com&secure=no"
    sandbox = make_sandbox(
        {
            "api/deepseek": f"{CANARY}\n",
            "api/openrouter": f"{OPENROUTER_KEY}\n",
            "keyz/notify/ntfy": f"{ntfy_url}\n",
            "keyz/notify/mail": f"{mail_url}\n",
        }
    )
    sandbox.env.update(simulator.env("deepseek", "openrouter"))
    for args in (
        ("init",),
        ("track", "api/deepseek", "-p", "deepseek"),
        ("track", "api/openrouter", "-p", "openrouter"),
    ):
        assert sandbox.keyz(*args).returncode == 0
    configure(sandbox, 'alert_below = "50 CNY"')
    path = sandbox.store / ".keyz" / "config.toml"
    path.write_text(
        path.read_text()
        + '\n[providers.openrouter]\nalert_spend_above = "10 USD/month"\n'
        + "\n[notify]\ndestinations = [\n"
        + '  "pass:keyz/notify/ntfy",\n  "pass:keyz/notify/mail",\n'
        + f'  "json://127.0.0.1:{hook.port}/keyz",\n]\n'
    )
    return sandbox


def figures(simulator: Any, cny: str, spent: float) -> None:
    set_deepseek(simulator, cny)
    simulator.openrouter(
        OPENROUTER_KEY, management=False, limit=None, limit_remaining=None, usage=spent
    )


def assert_no_secret(text: str, where: str) -> None:
    assert leaked(text, (CANARY, OPENROUTER_KEY, CHANNEL_TOKEN)) == [], where
    assert "keyz:" + CHANNEL_TOKEN not in text, where


@pytest.mark.cli
def test_events_reach_ntfy_a_webhook_and_email_once_each_and_failures_are_retried(
    make_sandbox: MakeStore,
    simulator: Any,
    receivers: tuple[HttpReceiver, HttpReceiver, Mailbox, int],
) -> None:
    ntfy, hook, mailbox, smtp = receivers
    sandbox = notify_store(make_sandbox, simulator, ntfy, hook, smtp)
    outputs: list[str] = []

    def check(*extra: str) -> Any:
        done = sandbox.keyz("check", "--sync", "--notify", *extra)
        assert "Traceback" not in done.stderr, done.stderr
        outputs.append(done.stdout + done.stderr)
        return done

    # 1. below a threshold, and 85 % of the month's budget: every channel hears both
    figures(simulator, "40.00", 8.5)
    first = check()
    assert first.returncode == 1, first.stderr
    assert "notify" not in first.stderr, first.stderr
    assert len(ntfy.requests) == len(hook.requests) == len(mailbox.messages) == 1
    ntfy_post = ntfy.requests[0]
    assert ntfy_post["path"] == "/keyz-alerts" or "keyz-alerts" in ntfy_post["body"]
    assert "api/deepseek: CNY 40.00 left, below 50 CNY" in ntfy_post["body"]
    assert "85% of the 10 USD/month budget" in ntfy_post["body"]
    webhook = json.loads(hook.requests[0]["body"])
    assert webhook["title"] == "keyz: 2 alerts" and webhook["type"] == "warning"
    assert webhook["message"].splitlines()[:2] == [
        "ALERT api/deepseek: CNY 40.00 left, below 50 CNY",
        "ALERT api/openrouter: spent USD 8.50 this month, 85% of the 10 USD/month budget",
    ]
    assert "Subject: keyz: 2 alerts" in mailbox.messages[0]
    assert "To: oncall@example.com" in mailbox.messages[0]
    assert "CNY 40.00 left" in mailbox.messages[0]

    # 2. nothing changed: nothing is sent again (said once per destination)
    assert check().returncode == 1
    assert len(ntfy.requests) == len(hook.requests) == len(mailbox.messages) == 1

    # 3. ntfy is down while the budget is overrun: the others hear it; the exit code keeps
    #    its meaning, the failure is one masked line, and ntfy's record does not move on
    ntfy.status = 500
    figures(simulator, "40.00", 12)
    down = check()
    assert down.returncode == 1
    assert "keyz: notify pass:keyz/notify/ntfy: delivery failed" in down.stderr
    assert "retried next run" in down.stderr
    assert len(hook.requests) == len(mailbox.messages) == 2
    assert "over the 10 USD/month budget (120%)" in json.loads(hook.requests[1]["body"])["message"]

    # 4. ntfy is back: it hears what it missed, the others hear nothing twice
    ntfy.status = 200
    assert check().returncode == 1
    assert "over the 10 USD/month budget (120%)" in ntfy.requests[-1]["body"]
    assert len(hook.requests) == len(mailbox.messages) == 2

    # 5. a top-up that clears the alert: recovered and topped up, as good news
    figures(simulator, "80.00", 12)
    assert check().returncode == 1  # still over budget
    good = json.loads(hook.requests[-1]["body"])
    assert (good["title"], good["type"]) == ("keyz: 2 updates", "info")  # a top-up is info
    assert "OK api/deepseek: CNY balance no longer low, CNY 80.00 left" in good["message"]
    assert "INFO api/deepseek: topped up, CNY 40.00 -> 80.00" in good["message"]
    assert "topped up" in mailbox.messages[-1] and "topped up" in ntfy.requests[-1]["body"]

    # 6. --json reports each destination, never its URL
    figures(simulator, "30.00", 12)
    document = json.loads(check("--json").stdout)
    assert [n["destination"] for n in document["notifications"]] == [
        "pass:keyz/notify/ntfy",
        "pass:keyz/notify/mail",
        f"json://127.0.0.1:{hook.port}/keyz",
    ]
    assert all(n["ok"] and n["sent"] == 1 for n in document["notifications"])

    # the canary: no key and no channel token in any payload, output or state file
    for text, where in (
        (ntfy.text(), "ntfy payloads"),
        (hook.text(), "webhook payloads"),
        ("\n".join(mailbox.messages), "emails"),
        ("\n".join(outputs), "keyz's output"),
        ((sandbox.store / ".keyz" / "state" / "alerts.json").read_text(), "alerts.json"),
    ):
        assert_no_secret(text, where)
    for post in ntfy.requests + hook.requests:
        assert all(ord(c) < 128 for c in post["body"]), "bodies are ASCII"


@pytest.mark.cli
def test_notify_test_says_which_failed_without_showing_urls(
    make_sandbox: MakeStore,
    simulator: Any,
    receivers: tuple[HttpReceiver, HttpReceiver, Mailbox, int],
) -> None:
    ntfy, hook, mailbox, smtp = receivers
    sandbox = notify_store(make_sandbox, simulator, ntfy, hook, smtp)
    done = sandbox.keyz("notify", "test")
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr.count("sent: ") == 3
    assert len(ntfy.requests) == len(hook.requests) == len(mailbox.messages) == 1
    assert "keyz: test notification" in json.loads(hook.requests[0]["body"])["title"]
    ntfy.status = 403
    failed = sandbox.keyz("notify", "test", "--json")
    assert failed.returncode == 1
    document = json.loads(failed.stdout)
    assert document["ok"] is False
    assert [d["ok"] for d in document["destinations"]] == [False, True, True]
    assert document["destinations"][0]["error"].startswith("delivery failed")
    assert_no_secret(done.stderr + failed.stdout + failed.stderr + ntfy.text(), "notify test")
    # a test never uses up an alert: the said-once records are untouched
    assert not (sandbox.store / ".keyz" / "state" / "alerts.json").exists()


@pytest.mark.cli
def test_a_url_with_credentials_in_config_is_refused(two_keys: Sandbox) -> None:
    path = two_keys.store / ".keyz" / "config.toml"
    base = path.read_text()
    for url in (
        f"ntfys://{CHANNEL_TOKEN}@ntfy.sh/alerts",
        f"json://user:{CHANNEL_TOKEN}@127.0.0.1:9/x",
        f"json://127.0.0.1:9/x?token={CHANNEL_TOKEN}",
        "json://example.com/hook",  # not this machine: the path may be the token
        "tgram://123456:abcdef/42",
    ):
        path.write_text(base + f'\n[notify]\ndestinations = ["{url}"]\n')
        done = two_keys.keyz("check")
        assert done.returncode == 2, url
        assert "live in pass" in done.stderr and "pass:keyz/notify/NAME" in done.stderr
        assert CHANNEL_TOKEN not in done.stderr and "Traceback" not in done.stderr
    path.write_text(base + '\n[notify]\ndestinations = ["json://localhost:9/keyz"]\n')
    allowed = two_keys.keyz("check")  # token-less and local: allowed (never synced: exit 1)
    assert allowed.returncode == 1 and "config.toml" not in allowed.stderr
    assert two_keys.keyz("notify", "test").returncode == 1  # nothing listens on port 9
    path.write_text(base)
    missing = two_keys.keyz("check", "--notify")
    assert missing.returncode == 2 and "no [notify] destinations" in missing.stderr
    one_off = two_keys.keyz("check", "--notify", "--below", "5 USD")  # would fake a recovery later
    assert one_off.returncode == 2 and "set alert_below" in one_off.stderr


@pytest.mark.cli
def test_a_pass_entry_that_cannot_be_read_is_a_failed_delivery_not_a_lost_alert(
    two_keys: Sandbox, simulator: Any
) -> None:
    configure(two_keys, 'alert_below = "50 CNY"')
    path = two_keys.store / ".keyz" / "config.toml"
    path.write_text(path.read_text() + '\n[notify]\ndestinations = ["pass:keyz/notify/gone"]\n')
    set_deepseek(simulator, "40.00")
    done = two_keys.keyz("check", "--sync", "--notify")
    assert done.returncode == 1
    assert "CNY 40.00 left" in done.stderr  # cron's mail still says it
    assert "keyz: notify pass:keyz/notify/gone: no entry" in done.stderr
    said = json.loads((two_keys.store / ".keyz" / "state" / "alerts.json").read_text())
    assert "notify:pass:keyz/notify/gone" not in said["destinations"]


def test_events_cleared_reset_topped_up_and_failed_runs() -> None:
    earlier = datetime(2026, 11, 23, 14, tzinfo=UTC)
    later = datetime(2026, 11, 23, 19, tzinfo=UTC)
    before = Told(
        alerts={
            "api/minimax": {"quota:interval (5h)": Said(value=Decimal(8), resets_at=earlier)},
            "api/x": {"failed": Said(), "stale": Said()},
            "api/gone": {"below:USD": Said(value=Decimal(1))},  # untracked since
        },
        figures={"api/x": {"balance:USD": Said(value=Decimal("4.50"))}},
    )
    now_seen = {
        "api/minimax": {"quota:interval (5h)": Said(value=Decimal(100), resets_at=later)},
        "api/x": {"balance:USD": Said(value=Decimal("25.00"))},
    }
    found = events(before, [], now_seen)
    assert [(e.kind, e.message) for e in found] == [
        ("reset", "api/minimax: interval (5h) window reset, 100% left"),
        ("recovered", "api/x: syncing works again"),
        ("recovered", "api/x: figures are fresh again"),
        ("topped_up", "api/x: topped up, USD 4.50 -> 25.00"),
    ]
    still = Problem("api/minimax", Kind.BELOW_PERCENT, "api/minimax: low", "quota:interval (5h)")
    assert [e.kind for e in events(before, [still], now_seen)][:1] == ["recovered"]


def test_notifications_are_short_ascii_and_masked() -> None:
    from keyz.redact import REDACTOR

    REDACTOR.add(CANARY)
    problems = [
        Problem("api/caf\u00e9", Kind.BELOW, f"api/caf\u00e9: echoed {CANARY} \x1b[31m" + "x" * 400)
        for _ in range(30)
    ]
    title, body, level = compose(problems, [])
    assert level == "warning" and title == "keyz: 30 alerts"
    lines = body.splitlines()
    assert len(lines) == 22 and lines[20].startswith("... and 10 more")
    assert all(len(line) <= 240 for line in lines)
    assert (title + body).isascii() and CANARY not in body and "[REDACTED]" in body
    assert "api/cafe" in body
    assert ascii_safe("a\u202eb", 10) == "a\\u202eb"


def test_entries_state_version_1_is_upgraded_with_a_failure_count(tmp_path: Any) -> None:
    from keyz.state import load_state, save_state

    path = tmp_path / "state" / "entries.json"
    path.parent.mkdir()
    old = {"api/a": {"last_error": "HTTP 500"}, "api/b": {"last_success": "2026-11-01T00:00:00Z"}}
    path.write_text(json.dumps({"schema_version": 1, "entries": old}))
    states = load_state(tmp_path)
    assert (states["api/a"].failures, states["api/b"].failures) == (1, 0)
    save_state(tmp_path, states)
    assert json.loads(path.read_text())["schema_version"] == 2
    assert load_state(tmp_path)["api/a"].failures == 1


def test_a_channel_that_trickles_its_answer_cannot_hold_a_cron_run() -> None:
    """Apprise's timeouts are per socket read: a tarpit (greylisting SMTP, a proxy) that sends
    one byte every second never trips them. A delivery has an overall deadline."""
    import time

    from keyz.errors import NotifyError
    from keyz.notify import send

    stop = threading.Event()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def tarpit() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            while not stop.wait(0.1):  # an answer that never ends, a byte at a time
                conn.send(b"X-Slow: 1\r\n"[:1])

    thread = threading.Thread(target=tarpit, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(NotifyError, match="no answer within 1 s"):
            send(f"json://127.0.0.1:{port}/keyz", "t", "b", deadline=1.0)
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        server.close()
