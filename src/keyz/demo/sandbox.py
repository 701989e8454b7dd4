"""Throwaway gpg homes and pass stores, made with the real gpg, pass and git.

Used by ``keyz demo`` and by the tests; nothing here touches the user's own
store, gpg home or git configuration: every command runs with HOME, GNUPGHOME
and PASSWORD_STORE_DIR pointing into the sandbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

IDENTITY = {
    "GIT_AUTHOR_NAME": "keyz sandbox",
    "GIT_AUTHOR_EMAIL": "sandbox@keyz.invalid",
    "GIT_COMMITTER_NAME": "keyz sandbox",
    "GIT_COMMITTER_EMAIL": "sandbox@keyz.invalid",
}


def sandbox_env(
    home: Path, gnupghome: Path, store: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a sandbox: the user's PATH and locale, nothing of their stores or configs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PASSWORD_STORE_", "GIT_", "GNUPG", "GPG_", "KEYZ_"))
        and k not in ("HOME", "XDG_CONFIG_HOME")
    }
    env.update(
        HOME=str(home),
        GNUPGHOME=str(gnupghome),
        PASSWORD_STORE_DIR=str(store),
        GIT_CONFIG_NOSYSTEM="1",
    )
    env.update(extra or {})
    return env


def make_gnupghome(gnupghome: Path, *, passphrase: str = "") -> str:
    """Generate a throwaway key (no passphrase unless given) and return its fingerprint."""
    gnupghome.mkdir(parents=True, exist_ok=True, mode=0o700)
    gnupghome.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupghome)}
    base = [
        "gpg",
        "--batch",
        "--homedir",
        str(gnupghome),
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        passphrase,
    ]
    uid = f"keyz sandbox {gnupghome.name} <sandbox@keyz.invalid>"
    _run([*base, "--quick-gen-key", uid, "future-default", "default", "never"], env)
    out = _run(
        ["gpg", "--homedir", str(gnupghome), "--with-colons", "--list-secret-keys", uid], env
    )
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


def make_store(
    store: Path,
    env: Mapping[str, str],
    recipient: str,
    entries: Mapping[str, str],
    *,
    use_pass: bool | None = None,
    git: bool = True,
) -> None:
    """A pass store holding ``entries`` (name -> full text), made by pass itself when it is installed."""
    if use_pass is None:
        use_pass = shutil.which("pass") is not None
    env = dict(env)
    git_env = {**env, **IDENTITY}
    if use_pass:
        _run(["pass", "init", recipient], env)
        if git:
            _run(["pass", "git", "init"], git_env)
        for name, text in entries.items():
            _run(["pass", "insert", "--multiline", name], git_env, stdin=text)
    else:  # what pass does, by hand: .gpg-id, then one gpg-encrypted file per entry
        store.mkdir(parents=True, exist_ok=True)
        (store / ".gpg-id").write_text(recipient + "\n")

        def encrypt(item: tuple[str, str]) -> None:
            name, text = item
            path = store / f"{name}.gpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            _run(
                [
                    "gpg",
                    "--batch",
                    "--yes",
                    "--quiet",
                    "--trust-model",
                    "always",
                    "--recipient",
                    recipient,
                    "--output",
                    str(path),
                    "--encrypt",
                ],
                env,
                stdin=text,
            )

        with ThreadPoolExecutor(8) as pool:  # benchmarks build stores of a thousand entries
            list(pool.map(encrypt, entries.items()))
        if git:
            _run(["git", "-C", str(store), "init", "--quiet"], git_env)
            _run(["git", "-C", str(store), "add", "--all"], git_env)
            _run(
                [
                    "git",
                    "-C",
                    str(store),
                    "commit",
                    "--quiet",
                    "-m",
                    "Add current contents of password store.",
                ],
                git_env,
            )
    if git:
        _run(["git", "-C", str(store), "config", "user.name", IDENTITY["GIT_AUTHOR_NAME"]], env)
        _run(["git", "-C", str(store), "config", "user.email", IDENTITY["GIT_AUTHOR_EMAIL"]], env)


FAKE_CRONTAB: Final = """#!/bin/sh
# A stand-in for crontab(1) in a sandbox: the table lives in $KEYZ_FAKE_CRONTAB.
case "$1" in
  -l) cat "$KEYZ_FAKE_CRONTAB" 2>/dev/null || { echo "no crontab for sandbox" >&2; exit 1; } ;;
  -)  cat > "$KEYZ_FAKE_CRONTAB" ;;
  *)  echo "fake crontab: unsupported $*" >&2; exit 2 ;;
esac
"""


def fake_crontab(bin_dir: Path, table: Path, path: str) -> dict[str, str]:
    """Put a fake ``crontab`` writing to ``table`` first on PATH; the env entries to use it.

    The demo and the tests never read or write the machine's real crontab.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "crontab"
    script.write_text(FAKE_CRONTAB)
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{path}", "KEYZ_FAKE_CRONTAB": str(table)}


def stop_agent(gnupghome: Path) -> None:
    """Stop the gpg-agent a sandbox started, so nothing outlives it."""
    subprocess.run(
        ["gpgconf", "--homedir", str(gnupghome), "--kill", "gpg-agent"],
        capture_output=True,
        check=False,
        timeout=30,
    )


def _run(argv: list[str], env: Mapping[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        argv, env=dict(env), input=stdin, capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:3])} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result.stdout


__all__ = ["IDENTITY", "make_gnupghome", "make_store", "sandbox_env", "stop_agent"]
