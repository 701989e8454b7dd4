"""Run the installed keyz with a real pseudo-terminal on stdout and/or stderr.

What a person sees depends on isatty() and the terminal's width, so these tests give keyz a
real pty (Python's ``pty`` module) of a chosen size, and record every chunk it writes with the
time it arrived: progress must show up while a provider is still answering, not at the end.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field

from tests.conftest import KEYZ

# what the person running the tests may have set, and would change the output
UNSET = ("NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES")


@dataclass
class Run:
    returncode: int
    started: float
    chunks: list[tuple[float, str, str]] = field(default_factory=list)  # (time, stream, text)

    def text(self, stream: str) -> str:
        """Everything written to ``stream`` ('tty', 'stdout' or 'stderr'), with \\r\\n as \\n."""
        return "".join(c for _, s, c in self.chunks if s == stream).replace("\r\n", "\n")

    def first(self, stream: str, needle: str) -> float | None:
        """Seconds from the start until ``needle`` had been written to ``stream``."""
        seen = ""
        for when, s, chunk in self.chunks:
            if s == stream:
                seen += chunk.replace("\r\n", "\n")
                if needle in seen:
                    return when - self.started
        return None

    @property
    def ended(self) -> float:
        return max((when for when, _, _ in self.chunks), default=self.started) - self.started


def run_tty(
    *args: str,
    env: dict[str, str],
    extra: dict[str, str] | None = None,
    stdout_tty: bool = True,
    stderr_tty: bool = True,
    columns: int = 80,
    timeout: float = 60,
) -> Run:
    """keyz ``args`` with stdin and the chosen streams on one pty of ``columns`` columns;
    ``env`` without what would change the output (NO_COLOR, COLUMNS, ...), then ``extra``."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    clean = {k: v for k, v in env.items() if k not in UNSET}
    started = time.monotonic()
    process = subprocess.Popen(
        [KEYZ, *args],
        env={**clean, "TERM": "xterm-256color", **(extra or {})},
        stdin=slave,
        stdout=slave if stdout_tty else subprocess.PIPE,
        stderr=slave if stderr_tty else subprocess.PIPE,
        start_new_session=True,
    )
    os.close(slave)
    run = Run(0, started)
    lock = threading.Lock()

    def pump(fd: int, stream: str) -> None:
        while True:
            gone = process.poll() is not None  # before the wait: what it wrote is in by then
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                if gone:  # and nothing more in the buffer (a gpg-agent may hold the pty open)
                    return
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the pty's last writer closed it
                return
            if not data:
                return
            with lock:
                run.chunks.append((time.monotonic(), stream, data.decode("utf-8", "replace")))

    readers = [threading.Thread(target=pump, args=(master, "tty"))]
    for stream in ("stdout", "stderr"):
        pipe = getattr(process, stream)
        if pipe is not None:
            readers.append(threading.Thread(target=pump, args=(pipe.fileno(), stream)))
    for reader in readers:
        reader.start()
    try:
        run.returncode = process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
        for reader in readers:
            reader.join(timeout=5)
        os.close(master)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    return run
