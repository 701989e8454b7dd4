"""``keyz`` as a subprocess, without paying Python's start-up and keyz's imports each time.

A keyz run in the tests spends ~0.4 s starting Python and importing keyz (pydantic builds
its models at import) and often less than that doing its work. :class:`ForkServer` starts
``tests/zygote.py`` once per test process: it imports keyz, then forks a fresh keyz process
for each run, with the argv, environment, working directory, umask and stdin/stdout/stderr
a ``subprocess.run`` would have given it. It is still a separate process: locks between
processes, exit codes, output on real pipes, atexit and child processes all behave as with
the installed console script; tests about the entry point itself, terminals, signals,
resource limits or cron run the console script (``KEYZ``) directly.

``KEYZ_TESTS_SPAWN=1`` in the environment of pytest runs every one through the console
script instead, as before; an environment whose Python start-up settings (``PYTHON*``,
``LC_*``, ``LANG``) differ from the server's does too.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import locale
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZYGOTE = Path(__file__).with_name("zygote.py")
SPAWN = os.environ.get("KEYZ_TESTS_SPAWN", "") not in ("", "0")


def _startup(env: dict[str, str]) -> dict[str, str]:
    """What Python reads from the environment when it starts, and never again."""
    return {k: v for k, v in env.items() if k.startswith(("PYTHON", "LC_")) or k == "LANG"}


def _umask() -> int:
    with contextlib.suppress(OSError, StopIteration, ValueError):
        status = Path("/proc/self/status").read_text()
        return int(
            next(line for line in status.splitlines() if line.startswith("Umask:")).split()[1], 8
        )
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _text(data: bytes) -> str:
    """Bytes as ``subprocess.run(text=True)`` decodes them."""
    encoding = locale.getpreferredencoding(False)
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


class ForkServer:
    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="keyz-zygote-")
        self.socket = os.path.join(self._dir, "socket")
        self.log = open(os.path.join(self._dir, "log"), "wb")  # noqa: SIM115  # closed in stop()
        self.env = dict(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, str(ZYGOTE), self.socket],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=self._dir,
            env=self.env,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        self.process.stdout.close()
        if ready != b"ready\n":
            self.stop()
            raise RuntimeError(f"the keyz fork server did not start: {self.read_log()}")

    def read_log(self) -> str:
        return Path(self._dir, "log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.socket)
            os.unlink(os.path.join(self._dir, "log"))
            os.rmdir(self._dir)

    def serves(self, env: dict[str, str]) -> bool:
        return self.process.poll() is None and _startup(env) == _startup(self.env)

    def run(
        self, argv: list[str], *, env: dict[str, str], cwd: Path | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """``subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
        timeout=timeout, stdin=DEVNULL, check=False)``, by a fork of the server."""
        request = json.dumps(
            {"argv": argv, "env": env, "cwd": str(cwd or os.getcwd()), "umask": _umask()}
        ).encode()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.socket)
            socket.send_fds(conn, [b"%16d" % len(request)], [null, out_w, err_w])
            conn.sendall(request)
        finally:
            for fd in (null, out_w, err_w):
                os.close(fd)
        deadline = time.monotonic() + timeout
        replies = conn.makefile("rb")
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        try:
            pid = int(replies.readline())
            with selectors.DefaultSelector() as selector:
                for fd in chunks:
                    selector.register(fd, selectors.EVENT_READ)
                while selector.get_map():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                        replies.readline()
                        raise subprocess.TimeoutExpired(
                            argv,
                            timeout,
                            output=_text(b"".join(chunks[out_r])),
                            stderr=_text(b"".join(chunks[err_r])),
                        )
                    for key, _ in selector.select(left):
                        data = os.read(key.fd, 65536)
                        if data:
                            chunks[key.fd].append(data)
                        else:
                            selector.unregister(key.fd)
            code = int(replies.readline())
        finally:
            replies.close()
            conn.close()
            os.close(out_r)
            os.close(err_r)
        return subprocess.CompletedProcess(
            argv, code, _text(b"".join(chunks[out_r])), _text(b"".join(chunks[err_r]))
        )


_server: ForkServer | None = None


def run_keyz(
    argv: list[str], *, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``argv`` (the console script and its arguments) run as ``subprocess.run`` would."""
    global _server
    if not SPAWN and _server is None:
        _server = ForkServer()
        atexit.register(_server.stop)
    if SPAWN or _server is None or not _server.serves(env):
        return subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    return _server.run(argv, env=env, cwd=cwd, timeout=timeout)
