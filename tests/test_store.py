import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keyz.demo.sandbox import make_gnupghome, stop_agent
from keyz.errors import DecryptError, StoreError, UsageError
from keyz.redact import redact
from keyz.store import PassStore, locate_store, validate_entry_name

from .conftest import CANARY, KEYZ, MakeStore, Sandbox, needs_pass


def test_store_location_follows_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, from_env, default = (
        tmp_path / "a",
        tmp_path / "b",
        Path(os.environ["HOME"]) / ".password-store",
    )
    for path in (explicit, from_env, default):
        path.mkdir()
    assert locate_store() == default.resolve()
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(from_env))
    assert locate_store() == from_env.resolve()
    assert locate_store(explicit) == explicit.resolve()


def test_missing_store_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="pass init"):
        locate_store(tmp_path / "nope")


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a/../../b",
        "/etc/passwd",
        "a//b",
        "./a",
        "a\nb",
        "a\0b",
        "a\\b",
        ".git/config",
        ".keyz/x",
        "",
        "-rf",
    ],
)
def test_sneaky_entry_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError):
        validate_entry_name(name)


def test_entry_names_are_normalized() -> None:
    assert validate_entry_name("api/deepseek.gpg") == "api/deepseek"
    assert validate_entry_name("api/clé ü") == "api/clé ü"


@needs_pass
def test_decrypts_first_line_utf8_and_hints(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox(
        {"api/x": "clé-ü-0123456789\nteam_id: t-42\nRegion : cn\nfree text\n"}, use_pass=True
    )
    secret = PassStore(sandbox.store).decrypt("api/x")
    assert secret.value == "clé-ü-0123456789"
    assert secret.hints == {"team_id": "t-42", "region": "cn"}
    assert "clé" not in repr(secret) and "clé" not in str(secret)
    assert redact("leak clé-ü-0123456789") == "leak [REDACTED]", (
        "decrypted secrets join the redactor"
    )


def test_plain_gpg_store_works_without_pass(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"api/deepseek": f"{CANARY}\n", "other/thing": "x\n"}, use_pass=False)
    store = PassStore(sandbox.store)
    assert store.entries() == ["api/deepseek", "other/thing"]
    assert store.decrypt("api/deepseek").value == CANARY


def test_listing_skips_git_and_hidden_dirs(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"a": "x\n"}, use_pass=False)
    (sandbox.store / ".extensions").mkdir()
    (sandbox.store / ".extensions" / "ext.gpg").write_text("not an entry")
    assert PassStore(sandbox.store).entries() == ["a"]


def test_symlink_out_of_the_store_is_refused(make_sandbox: MakeStore, tmp_path: Path) -> None:
    sandbox = make_sandbox({"a": "x\n"}, use_pass=False)
    outside = tmp_path / "outside.gpg"
    outside.write_text("x")
    (sandbox.store / "evil.gpg").symlink_to(outside)
    with pytest.raises(UsageError, match="symlink"):
        PassStore(sandbox.store).decrypt("evil")


def test_not_a_gpg_file(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"a": "x\n"}, use_pass=False)
    (sandbox.store / "junk.gpg").write_text("hello, not encrypted\n")
    with pytest.raises(DecryptError, match="not a gpg-encrypted file"):
        PassStore(sandbox.store).decrypt("junk")


def test_missing_entry(make_sandbox: MakeStore) -> None:
    sandbox = make_sandbox({"a": "x\n"}, use_pass=False)
    with pytest.raises(DecryptError, match=r"no entry 'gone' .*keyz untrack gone"):
        PassStore(sandbox.store).decrypt("gone")


def test_entry_for_a_key_we_do_not_have(
    make_sandbox: MakeStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox({"a": "x\n"}, use_pass=False)
    other_home = tmp_path / "other-gnupg"
    other = make_gnupghome(other_home)
    try:
        subprocess.run(
            [
                "gpg",
                "--homedir",
                str(other_home),
                "--batch",
                "--yes",
                "--trust-model",
                "always",
                "-r",
                other,
                "-o",
                str(sandbox.store / "theirs.gpg"),
                "-e",
            ],
            input=b"their-secret-0000\n",
            check=True,
            capture_output=True,
        )
        public = subprocess.run(
            ["gpg", "--homedir", str(other_home), "--batch", "--export", other],
            check=True,
            capture_output=True,
        ).stdout
    finally:
        stop_agent(other_home)
    with pytest.raises(DecryptError, match="not encrypted to any of your keys"):
        PassStore(sandbox.store).decrypt("theirs")
    # with their public key (but not the secret one) imported, gpg knows the key: say that
    home = Path(sandbox.env["GNUPGHOME"])
    copy = tmp_path / "copy-gnupg"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("S.*", "*.lock"))
    subprocess.run(
        ["gpg", "--homedir", str(copy), "--batch", "--import"],
        input=public,
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("GNUPGHOME", str(copy))
    try:
        with pytest.raises(DecryptError, match="its secret key is not in this keyring"):
            PassStore(sandbox.store).decrypt("theirs")
    finally:
        stop_agent(copy)


@pytest.mark.cli  # makes its own gpg key: seconds, not the fast subset
def test_locked_key_fails_fast_without_a_tty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "locked-gnupg"
    fingerprint = make_gnupghome(home, passphrase="correct horse battery staple")
    stop_agent(home)  # nothing cached: decryption would need a pinentry
    store = tmp_path / "locked-store"
    store.mkdir()
    subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--yes",
            "--trust-model",
            "always",
            "-r",
            fingerprint,
            "-o",
            str(store / "k.gpg"),
            "-e",
        ],
        input=b"locked-secret-0000\n",
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("GNUPGHOME", str(home))
    monkeypatch.setenv("DISPLAY", ":99")  # a GUI pinentry must not be tried either
    started = time.monotonic()
    try:
        with pytest.raises(DecryptError, match="gpg key is locked") as info:
            PassStore(store.resolve()).decrypt("k")
        assert "(pass show k >/dev/null)" in str(info.value)  # the entry itself, not "ENTRY"
    finally:
        stop_agent(home)
    assert time.monotonic() - started < 10


def test_password_store_gpg_opts_reach_gpg(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox({"a": "secret-value-0000\n"}, use_pass=False)
    monkeypatch.setenv("PASSWORD_STORE_GPG_OPTS", "--trust-model always --no-such-gpg-option")
    with pytest.raises(StoreError, match="invalid option"):
        PassStore(sandbox.store).decrypt("a")
    monkeypatch.setenv("PASSWORD_STORE_GPG_OPTS", "--trust-model   always")
    assert PassStore(sandbox.store).decrypt("a").value == "secret-value-0000"


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[16])


def _fake_gpg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_decrypt: str) -> None:
    """gpg and gpg2 on PATH as a script that runs ``on_decrypt`` (sh) before it becomes the
    real gpg (same pid) when asked to decrypt, and is the real gpg at once otherwise."""
    real = shutil.which("gpg2") or shutil.which("gpg")
    assert real is not None
    fake = tmp_path / "bin"
    fake.mkdir()
    script = f'#!/bin/sh\ncase "$*" in *--decrypt*)\n{on_decrypt}\n;; esac\nexec "{real}" "$@"\n'
    for name in ("gpg", "gpg2"):
        (fake / name).write_text(script)
        (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")


def _logs_niceness(log: Path, own: int) -> str:
    """Waits (at most 1 s) for its priority to change from ``own``, then says which it has."""
    return (
        "n=0\n"
        f'while [ "$(cut -d")" -f2- /proc/$$/stat | cut -d" " -f18)" = "{own}" ] && [ $n -lt 20 ]; '
        "do sleep 0.05; n=$((n+1)); done\n"
        f'cut -d")" -f2- /proc/$$/stat | cut -d" " -f18 >> "{log}"'
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_gpg_runs_below_keyz_priority_once_the_agent_is_up(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The event loop gets the CPU first; a slow sync on a busy machine showed why. The gpg
    of a store's first decryption may start gpg-agent, which would keep its priority for
    good: that one runs at keyz's own, the next ones below it."""
    sandbox = make_sandbox({"a": "secret-value-0000\n"}, use_pass=False)
    log, own = tmp_path / "niceness", os.getpriority(os.PRIO_PROCESS, 0)
    _fake_gpg(tmp_path, monkeypatch, _logs_niceness(log, own))
    store = PassStore(sandbox.store)
    for _ in range(3):
        assert store.decrypt("a").value == "secret-value-0000"
    seen = [int(line) for line in log.read_text().split()]
    assert seen == [own, min(19, own + 10), min(19, own + 10)], f"keyz at {own}"


def _agents(home: Path) -> list[int]:
    listed = subprocess.run(
        ["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [
        int(line.split()[0])
        for line in listed.splitlines()
        if "gpg-agent" in line and f"--homedir {home} " in f"{line} "
    ]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_gpg_agent_a_sync_starts_keeps_the_users_priority(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """gpg starts gpg-agent when none runs (cron, a fresh login), and the agent inherits
    gpg's priority. It outlives keyz and serves every later pass, git signature and ssh login
    (and its pinentry): a sync must not leave it at nice +10."""
    sandbox = make_sandbox({f"k{i}": f"secret-value-000{i}\n" for i in range(6)}, use_pass=False)
    home = tmp_path / "fresh-gnupg"  # the session's keyring, with no agent running for it
    shutil.copytree(sandbox.key.home, home, ignore=shutil.ignore_patterns("S.*", "*.lock"))
    monkeypatch.setenv("GNUPGHOME", str(home))
    assert _agents(home) == []
    try:
        store = PassStore(sandbox.store)
        # four at a time, as a sync: any of the first four may start it
        first = [store.submit(f"k{i}") for i in range(6)]
        assert [store.submit(f"k{i}").result(30).value for i in range(6)] == [
            f"secret-value-000{i}" for i in range(6)
        ]
        for pending in first:  # none may start another agent after stop_agent below
            assert pending.result(30).value.startswith("secret-value-000")
        agents = _agents(home)
        assert len(agents) == 1
        assert _niceness(agents[0]) == os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        stop_agent(home)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("niceness", [15, 19])
def test_keyz_run_under_nice_still_syncs_and_gpg_stays_at_19(
    two_keys: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, niceness: int
) -> None:
    """`nice -n 15 keyz sync` (cron jobs often are): gpg goes to 19, the most there is, and
    never fails for asking more; keyz itself and git keep 15."""
    log = tmp_path / "niceness"
    _fake_gpg(tmp_path, monkeypatch, _logs_niceness(log, niceness))
    result = subprocess.run(
        ["nice", "-n", str(niceness), KEYZ, "sync"],
        env={**two_keys.env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert len(log.read_text().split()) == 2  # both decrypted, at either priority
    log.unlink()
    decrypt_thrice = (
        "from pathlib import Path; from keyz.store import PassStore; "
        f"store = PassStore(Path({str(two_keys.store)!r})); "
        "[store.decrypt('api/deepseek') for _ in range(3)]"
    )
    subprocess.run(
        ["nice", "-n", str(niceness), sys.executable, "-c", decrypt_thrice],
        env={**two_keys.env, "PATH": os.environ["PATH"]},
        check=True,
        timeout=60,
    )
    assert [int(line) for line in log.read_text().split()] == [niceness, 19, 19]


def test_a_gpg_that_exits_at_once_is_a_gpg_error_not_a_crash(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Its priority is set after it exited (a zombie, or nothing): keyz says what gpg said."""
    sandbox = make_sandbox({"a": "secret-value-0000\n"}, use_pass=False)
    _fake_gpg(tmp_path, monkeypatch, "exit 2")
    store = PassStore(sandbox.store)
    for _ in range(2):  # the second one is the one keyz lowers
        with pytest.raises(DecryptError):
            store.decrypt("a")


def test_the_watchdog_still_stops_a_hung_gpg(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from keyz import store as store_module

    sandbox = make_sandbox({"a": "secret-value-0000\n"}, use_pass=False)
    monkeypatch.setattr(store_module, "GPG_TIMEOUT", 1.0)
    _fake_gpg(tmp_path, monkeypatch, "exec sleep 60")
    started = time.monotonic()
    with pytest.raises(DecryptError, match=r"gpg did not finish within 1s and was stopped"):
        PassStore(sandbox.store).decrypt("a")
    assert time.monotonic() - started < 10


def test_gpg_decrypts_quietly_and_asks_again_only_to_explain_a_failure(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--quiet spares gpg a keyring lookup per entry (a quarter of its CPU), but also hides
    why a decryption failed: only a failure is decrypted again, without it and never
    prompting, so that the reason is still told."""
    sandbox = make_sandbox({"a": "secret-value-0000\n"}, use_pass=False)
    (sandbox.store / "junk.gpg").write_bytes(b"not gpg at all")
    real = shutil.which("gpg2") or shutil.which("gpg")
    log, fake = tmp_path / "calls", tmp_path / "bin"
    fake.mkdir()
    for name in ("gpg", "gpg2"):
        (fake / name).write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
        (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    store = PassStore(sandbox.store)
    assert store.decrypt("a").value == "secret-value-0000"
    first = [line.split() for line in log.read_text().splitlines() if "--decrypt" in line]
    assert len(first) == 1 and "--quiet" in first[0]
    with pytest.raises(DecryptError, match="not a gpg-encrypted file"):
        store.decrypt("junk")
    decrypts = [line.split() for line in log.read_text().splitlines() if "--decrypt" in line]
    assert len(decrypts) == 3
    assert "--quiet" in decrypts[1] and "--quiet" not in decrypts[2]
    assert decrypts[2][decrypts[2].index("--pinentry-mode") + 1] == "error"


def test_the_gpgs_a_run_stops_are_reaped_before_it_returns() -> None:
    """A kill is delivered, not awaited: unreaped, a killed gpg can still be running under init
    for a moment after keyz exits. Closing the run kills and reaps, and so does a gpg that a
    late thread starts after the close."""
    from keyz.store import _Processes

    def started() -> subprocess.Popen[bytes]:
        # asleep in Python once it has printed, not still in exec (a process busy loading its
        # program under heavy I/O dies only once that is done: this is about reaping, not that)
        process = subprocess.Popen(
            [sys.executable, "-c", "import time; print(flush=True); time.sleep(30)"],
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stdout.readline() == b"\n"
        return process

    processes = _Processes()
    running = started()
    processes.add(running)
    processes.close()
    assert running.returncode == -9  # reaped by close(), not by a later poll()
    late = started()
    processes.add(late)
    assert late.returncode == -9
    for process in (running, late):
        assert process.stdout is not None
        process.stdout.close()


def test_more_than_a_pipe_holds_on_each_of_gpgs_outputs_is_read_whole(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """gpg's status lines go to a file and its plaintext is read as it comes: neither output
    can fill a pipe that nobody reads (a gpg.conf with ``verbose``, an entry encrypted to a
    thousand recipients, long notes), which would hang the entry until the watchdog."""
    from keyz import store as store_module

    notes = "".join(f"note_{i}: {'n' * 60}\n" for i in range(2_000))  # ~150 KB of plaintext
    sandbox = make_sandbox({"a": f"secret-value-0000\n{notes}"}, use_pass=False)
    monkeypatch.setattr(store_module, "GPG_TIMEOUT", 10.0)
    chatter = "gpg: " + "v" * 99
    _fake_gpg(tmp_path, monkeypatch, f'yes "{chatter}" | head -n 3000 >&2')  # 300 KB first
    started = time.monotonic()
    secret = PassStore(sandbox.store).decrypt("a")
    assert secret.value == "secret-value-0000"
    assert secret.hints["note_1999"] == "n" * 60
    assert time.monotonic() - started < 5, "an output nobody read held gpg up"


@pytest.mark.parametrize("lacking", ["memfd", "memfd and TMPDIR"])
def test_decrypting_works_without_an_anonymous_file_too(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lacking: str
) -> None:
    """Where the system has no memfd (macOS) the status lines go to an unlinked temporary
    file; where that cannot be made either (a full or read-only TMPDIR), python-gnupg's own
    I/O decrypts: slower, but the entry is not lost to it."""
    import tempfile

    sandbox = make_sandbox({"a": "secret-value-0000\nteam: t-1\n"}, use_pass=False)
    monkeypatch.delattr(os, "memfd_create", raising=False)
    if "TMPDIR" in lacking:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    store = PassStore(sandbox.store)
    for _ in range(2):
        secret = store.decrypt("a")
        assert (secret.value, secret.hints) == ("secret-value-0000", {"team": "t-1"})
    with pytest.raises(DecryptError, match="not a gpg-encrypted file"):
        (sandbox.store / "junk.gpg").write_bytes(b"not gpg at all")
        store.decrypt("junk")
