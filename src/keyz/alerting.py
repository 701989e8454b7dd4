"""Alerts that reach people: ``keyz check --notify`` and ``keyz notify test``.

The ``[notify] destinations`` of config.toml are Apprise URLs (keyz.notify), each kept
on the first line of a pass entry (``pass:keyz/notify/ntfy``) or, for a token-less
webhook on this machine, written out. Every destination is its own said-once record in
``.keyz/state/alerts.json`` (``notify:`` and its name): it is told of what is new to it
(problems, and events: cleared, reset, topped up), and its record moves on only once the
delivery succeeded, so a channel that was down hears everything on the next run.
Titles and bodies are short, ASCII, and pass through the redactor before they leave.
"""

from __future__ import annotations

import socket
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from keyz.check import Event, events, figures, is_new, told
from keyz.config import PASS_PREFIX, Config
from keyz.errors import KeyzError
from keyz.health import Problem
from keyz.notify import protect, send
from keyz.redact import clean
from keyz.render import DERIVED_MARK
from keyz.state import Told, load_said, save_said
from keyz.store import PassStore

RECORD: Final = "notify:"  # a destination's name in alerts.json: "notify:pass:keyz/notify/ntfy"
MAX_LINES: Final = 20  # a notification is read on a phone: the rest is one "and N more" line
TITLE_LEN: Final = 100
LINE_LEN: Final = 240


@dataclass(frozen=True)
class Delivery:
    """What happened at one destination: sent (how many items), nothing to say, or failed."""

    destination: str  # its name in config.toml ("pass:keyz/notify/ntfy"), never the URL
    ok: bool
    sent: int = 0  # alerts and events in the notification; 0 when there was nothing new
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "destination": self.destination,
            "ok": self.ok,
            "sent": self.sent,
            "error": self.error,
        }


def url_of(store: PassStore, destination: str) -> str:
    """The Apprise URL of a destination: the first line of its pass entry, or the URL itself."""
    if destination.startswith(PASS_PREFIX):
        reader = PassStore(store.root)  # its own gpg: a sync before may have closed the store's
        try:
            url = reader.decrypt(destination.removeprefix(PASS_PREFIX)).value
        finally:
            reader.close()
        protect(url)  # its token, host and path are never shown
        return url
    return destination  # token-less and local, written in config.toml: nothing to hide


def notify_check(store: PassStore, config: Config, problems: Sequence[Problem]) -> list[Delivery]:
    """Tell each destination what is new to it; a failed one keeps its record, to retry."""
    if not config.notify:
        return []
    every = load_said(store.keyz_dir)
    seen = figures(store, config)
    deliveries = []
    for destination in config.notify:
        record = RECORD + destination
        before = every.get(record, Told())
        fresh = [p for p in problems if is_new(p, before.alerts)]
        happened = events(before, problems, seen)
        if not fresh and not happened:
            every[record] = told(problems, seen, before)
            deliveries.append(Delivery(destination, True))
            continue
        title, body, level = compose(fresh, happened)
        try:
            send(url_of(store, destination), title, body, level)
        except KeyzError as exc:
            deliveries.append(Delivery(destination, False, error=clean(str(exc))))
            continue  # its record stays: the same alerts and events are sent next run
        every[record] = told(problems, seen, before)
        deliveries.append(Delivery(destination, True, len(fresh) + len(happened)))
    save_said(store.keyz_dir, every)
    return deliveries


def notify_test(store: PassStore, config: Config) -> list[Delivery]:
    """Send a test message to every destination; say which failed. Records are not touched."""
    host = ascii_safe(socket.gethostname(), 60)
    title = "keyz: test notification"
    body = (
        f"This is a test from keyz on {host}. If you read this, keyz check --notify reaches "
        "you here."
    )
    deliveries = []
    for destination in config.notify:
        try:
            send(url_of(store, destination), title, body, "info")
        except KeyzError as exc:
            deliveries.append(Delivery(destination, False, error=clean(str(exc))))
        else:
            deliveries.append(Delivery(destination, True, 1))
    return deliveries


def compose(problems: Sequence[Problem], happened: Sequence[Event]) -> tuple[str, str, str]:
    """Title, body and Apprise level of one notification: alerts first, then what got better."""
    lines = [f"ALERT {p.message}" for p in problems]
    lines += [f"{'INFO' if e.kind == 'topped_up' else 'OK'} {e.message}" for e in happened]
    shown = [ascii_safe(line, LINE_LEN) for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        shown.append(f"... and {len(lines) - MAX_LINES} more: run keyz check --repeat")
    if any(p.derived for p in problems):
        shown.append(f"{DERIVED_MARK} derived: a figure keyz computed from the provider's own")
    shown.append("Details: keyz status; keyz check --repeat")
    if len(lines) == 1:
        one = problems[0].message if problems else happened[0].message
        title = f"keyz: {one}"
    else:
        counts = [f"{len(problems)} alert{'s' * (len(problems) != 1)}"] if problems else []
        if happened:
            counts.append(f"{len(happened)} update{'s' * (len(happened) != 1)}")
        title = f"keyz: {', '.join(counts)}"
    level = (
        "warning"
        if problems
        else "success"
        if all(e.kind != "topped_up" for e in happened)
        else "info"
    )
    return ascii_safe(title, TITLE_LEN), "\n".join(shown), level


def ascii_safe(text: str, limit: int) -> str:
    """Masked first, then cut (keyz.redact.clean), then ASCII: accents dropped, the rest escaped."""
    cut = clean(text, limit - 2)  # "…" becomes "..."
    plain = unicodedata.normalize("NFKD", cut.replace("…", "...").replace("·", "-"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return plain.encode("ascii", "backslashreplace").decode("ascii")


__all__ = ["Delivery", "ascii_safe", "compose", "notify_check", "notify_test", "url_of"]
