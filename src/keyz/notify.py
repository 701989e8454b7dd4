"""Notification channels through Apprise: the only module that imports apprise.

One Apprise URL is one channel (``ntfys://TOKEN@ntfy.sh/topic``, ``mailto://...``,
``json://host/path``, Telegram, Slack, Matrix, ...; https://github.com/caronc/apprise/wiki).
A URL can hold a token, so before anything is sent the URL and each of its parts
(user, password, host, path pieces, query values) are registered with the redactor:
no output of keyz can show them. Apprise's own log names URLs and server answers: its
logger never propagates to the terminal, and a failure's reason is taken from what it
logged during that one delivery, masked and cut (:func:`keyz.redact.clean`).

Apprise's timeouts bound each connect and each read, not a delivery: a server that
answers a byte at a time (a tarpit, greylisting SMTP) would hold ``keyz check --notify``,
and cron's next run after it, forever. So each delivery runs in a daemon thread with an
overall :data:`DEADLINE`; one that misses it is a failed delivery, told again next run.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
import warnings
from typing import Final

from keyz.errors import NotifyError, start_deaf_to_ctrl_c
from keyz.redact import REDACTOR, clean

TIMEOUT: Final = 10.0  # seconds apprise may take to connect and to read, per channel
DEADLINE: Final = 60.0  # seconds one delivery may take in all (SMTP: connect, TLS, auth, data)
_APPRISE_LOG: Final = logging.getLogger("apprise")
_APPRISE_LOG.propagate = False  # it logs URLs and answers: never to keyz's stderr
_APPRISE_LOG.addHandler(logging.NullHandler())


def protect(url: str) -> None:
    """Register ``url`` and every part of it that may be a token with the redactor."""
    REDACTOR.add(url)
    try:
        parts = urllib.parse.urlsplit(url)
        pieces = [parts.username, parts.password, parts.netloc, parts.path, parts.query]
    except ValueError:
        return
    pieces += parts.path.split("/")
    pieces += [value for _, value in urllib.parse.parse_qsl(parts.query)]
    for piece in pieces:
        if piece:
            REDACTOR.add(urllib.parse.unquote(piece))
            REDACTOR.add(piece)


def send(
    url: str, title: str, body: str, level: str = "info", *, deadline: float = DEADLINE
) -> None:
    """Deliver one notification to one Apprise URL, or raise NotifyError saying why (masked).

    The caller registers a URL from pass with :func:`protect` first.

    ``level`` is Apprise's notify type: info, success, warning or failure. A delivery still
    going after ``deadline`` seconds is left behind (a daemon thread: it does not keep the
    process alive) and is a failure.
    """
    with warnings.catch_warnings():
        # apprise's plugins import modules Python deprecates (imghdr): nothing keyz can act on
        warnings.simplefilter("ignore")
        import apprise

        channel = apprise.Apprise()
        capture = apprise.LogCapture(level=logging.INFO, fmt="%(message)s")  # type: ignore[no-untyped-call]
        with capture as log:
            if not channel.add(_with_timeouts(url)):
                raise NotifyError(
                    "not an Apprise URL keyz can use (unknown scheme, or a part missing); "
                    "see https://github.com/caronc/apprise/wiki"
                )
            outcome: list[bool | Exception] = []

            def deliver() -> None:
                try:
                    outcome.append(bool(channel.notify(title=title, body=body, notify_type=level)))
                except Exception as exc:  # a plugin's own bug: this channel's failure
                    outcome.append(exc)

            worker = threading.Thread(target=deliver, name="keyz-notify", daemon=True)
            start_deaf_to_ctrl_c(worker)
            worker.join(deadline)
            if not outcome:
                raise NotifyError(
                    f"no answer within {deadline:g} s (the channel hangs or answers too slowly)"
                )
            said = log.getvalue()
    (delivered,) = outcome
    if isinstance(delivered, Exception):
        raise NotifyError(f"delivery failed: {clean(type(delivered).__name__)}")
    if not delivered:
        raise NotifyError(f"delivery failed: {_reason(said)}")


def _with_timeouts(url: str) -> str:
    """Apprise's connect and read timeouts (cto, rto), unless the URL sets its own."""
    if "cto=" in url or "rto=" in url or "://" not in url:
        return url
    glue = "&" if "?" in url else "?"
    return f"{url}{glue}cto={TIMEOUT:g}&rto={TIMEOUT:g}"


def _reason(log: str) -> str:
    """The last thing apprise logged at warning level or above, masked and cut."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    telling = [
        line
        for line in lines
        if not line.lower().startswith(("sent ", "sending ", "notify ", "json ", "loaded "))
    ]
    return clean(telling[-1], 160) if telling else "the channel did not accept it"


__all__ = ["DEADLINE", "TIMEOUT", "protect", "send"]
