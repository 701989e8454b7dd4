import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from keyz.demo.sandbox import make_gnupghome, stop_agent
from keyz.errors import DecryptError, StoreError, UsageError
from keyz.redact import redact
from keyz.store import PassStore, locate_store, validate_entry_name

from .conftest import CANARY, MakeStore, needs_pass


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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_gpg_runs_below_keyz_priority(
    make_sandbox: MakeStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The event loop gets the CPU first; a slow sync on a busy machine showed why."""
    sandbox = make_sandbox({"a": "secret-value-0000\n"}, use_pass=False)
    real = shutil.which("gpg2") or shutil.which("gpg")
    assert real is not None
    log, own = tmp_path / "niceness", os.getpriority(os.PRIO_PROCESS, 0)
    fake = tmp_path / "bin"
    fake.mkdir()
    # gpg as keyz starts it: waits (at most 5 s) for its priority to change, says which it
    # has, then is the real gpg (same pid)
    script = (
        "#!/bin/sh\nn=0\n"
        f'while [ "$(cut -d")" -f2- /proc/$$/stat | cut -d" " -f18)" = "{own}" ] && [ $n -lt 100 ]; '
        "do sleep 0.05; n=$((n+1)); done\n"
        f'cut -d")" -f2- /proc/$$/stat | cut -d" " -f18 >> "{log}"\nexec "{real}" "$@"\n'
    )
    for name in ("gpg", "gpg2"):
        (fake / name).write_text(script)
        (fake / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    assert PassStore(sandbox.store).decrypt("a").value == "secret-value-0000"
    seen = {int(line) for line in log.read_text().split()}
    assert seen == {min(19, own + 10)}, f"gpg ran at {seen}, keyz at {own}"


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
