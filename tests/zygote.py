"""The fork server behind :mod:`tests.forkserver`: a Python that has imported keyz once and
forks a fresh ``keyz`` process for each request, as the console script would start it.

Run as ``python tests/zygote.py SOCKET``, by ``tests.forkserver`` only. Each request is a
JSON document (argv, environment, working directory, umask) and three file descriptors
(stdin, stdout, stderr). A supervisor child forks the keyz process, sends back its pid, waits
for it and sends back its exit code (as subprocess's ``returncode``: negative for a signal).

The keyz process is a real, separate process: its own pid, its own descriptors (only 0, 1
and 2, as ``subprocess`` leaves them), the environment it was given and nothing else, and
it runs ``keyz.cli.main`` from the top level, so it exits the way the console script does
(atexit handlers, thread joins, buffered output flushed). What it skips is Python's start-up
and the imports, ~0.4 s of each keyz run in the tests.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# The console script's sys.path[0] is its own directory, the venv's bin; this file's
# directory (tests/, with a tty.py of its own) must not shadow the standard library.
sys.path[0] = str(Path(sys.executable).parent)

import gc  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

# What a keyz run imports anyway. GitPython, apprise and textual stay lazy, as in keyz:
# GitPython looks for git on PATH when it is imported, and a test may change PATH.
import gnupg  # noqa: E402, F401
import httpx  # noqa: E402, F401

import keyz.cli  # noqa: E402

for _name in sorted(p.stem for p in Path(keyz.cli.__file__).parent.glob("*.py")):
    if _name not in ("__main__", "ui"):
        __import__(f"keyz.{_name}")
for _name in sorted(p.stem for p in (Path(keyz.cli.__file__).parent / "providers").glob("*.py")):
    __import__(f"keyz.providers.{_name}")
assert threading.active_count() == 1, "an import started a thread: forking would copy it"
assert "git" not in sys.modules and "apprise" not in sys.modules and "textual" not in sys.modules
# What the imports made is never garbage: out of the collector's sight, a keyz process
# neither copies those pages when it collects nor walks them all as it exits (~0.08 s).
gc.collect()
gc.freeze()


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def serve(path: str) -> dict[str, object]:
    """Answer requests until the parent goes; returns only in a keyz process, its request."""
    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    server.settimeout(0.5)
    print("ready", flush=True)
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:  # reap the supervisors
                pass
        except ChildProcessError:
            pass
        if os.getppid() != parent:  # the test process is gone
            os._exit(0)
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        try:
            head, fds, _, _ = socket.recv_fds(conn, 16, 3)
            head += _read_exactly(conn, 16 - len(head))
            request: dict[str, object] = json.loads(_read_exactly(conn, int(head)))
        except (OSError, ValueError, EOFError):
            conn.close()
            continue
        if os.fork() == 0:  # the supervisor
            server.close()
            pid = os.fork()
            if pid == 0:  # keyz
                conn.close()
                for target, fd in enumerate(fds):
                    os.dup2(fd, target)
                os.closerange(3, os.sysconf("SC_OPEN_MAX"))
                return request
            for fd in fds:
                os.close(fd)
            try:
                conn.sendall(f"{pid}\n".encode())
                code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                conn.sendall(f"{code}\n".encode())
            finally:
                os._exit(0)
        conn.close()
        for fd in fds:
            os.close(fd)


def become(request: dict[str, object]) -> None:
    """This process as the console script would have started it with ``request``."""
    env = request["env"]
    argv = request["argv"]
    assert isinstance(env, dict) and isinstance(argv, list)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(str(request["cwd"]))
    os.umask(int(str(request["umask"])))
    time.tzset()  # Python reads TZ when it starts
    tempfile.tempdir = None  # and TMPDIR the first time it is asked
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = [str(arg) for arg in argv]


if __name__ == "__main__":
    become(serve(sys.argv[1]))
    keyz.cli.main()  # from the top level, as the console script: its exit is a process's
