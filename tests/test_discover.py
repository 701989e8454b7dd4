"""keyz discover: path and key-prefix matching on a store with mixed entries."""

from __future__ import annotations

import json

import pytest

from keyz.discover import judge, path_guess, prefix_of
from tests.conftest import CANARY, MakeStore, Sandbox

ENTRIES = {
    "api/deepseek": f"{CANARY}\n",  # generic sk-: only the path says deepseek
    "openrouter/main": "sk-or-v1-" + "ab" * 32 + "\n",
    "keys/anthropic-admin": "sk-ant-admin01-" + "cd" * 20 + "\n",
    "work/claude": "sk-ant-api03-" + "ef" * 20 + "\n",
    "misc/ci-token": "gsk_" + "12" * 20 + "\n",
    "random/thing": "sk-admin-" + "34" * 20 + "\n",
    "api/mistral": "abcd" * 8 + "\n",
    "email/gmail": "correct horse battery staple\nlogin: me@example.com\n",
    "xai/inference": "xai-" + "56" * 20 + "\n",
}


@pytest.fixture
def mixed(make_sandbox: MakeStore) -> Sandbox:
    sandbox = make_sandbox(ENTRIES)
    assert sandbox.keyz("init").returncode == 0
    assert sandbox.keyz("track", "api/deepseek", "-p", "deepseek").returncode == 0
    return sandbox


def rows(sandbox: Sandbox, *args: str) -> dict[str, dict[str, object]]:
    result = sandbox.keyz("discover", "--json", *args)
    assert result.returncode == 0, result.stderr
    for key in ENTRIES.values():
        assert key.split("\n")[0] not in result.stdout + result.stderr
    return {c["entry"]: c for c in json.loads(result.stdout)["candidates"]}


@pytest.mark.cli
def test_by_path_only_never_decrypts(mixed: Sandbox) -> None:
    # a GNUPGHOME without the key: any decryption attempt would show up as an error
    found = rows(
        mixed.__class__(mixed.root, mixed.store, {**mixed.env, "GNUPGHOME": "/nope"}, mixed.key)
    )
    assert set(found) == {
        "openrouter/main",
        "keys/anthropic-admin",
        "work/claude",
        "api/mistral",
        "xai/inference",
    }  # api/deepseek is tracked already; the rest say nothing by their path
    assert found["keys/anthropic-admin"]["key_kind"] == "admin"
    assert found["work/claude"]["confident"] is True  # the path alone cannot tell the kind
    assert found["api/mistral"]["confident"] is False
    assert all("decrypt" not in str(c["why"]) for c in found.values())


@pytest.mark.cli
def test_with_decrypt_prefixes_decide(mixed: Sandbox) -> None:
    found = rows(mixed, "--decrypt")
    assert "email/gmail" not in found and "api/deepseek" not in found
    assert found["random/thing"]["provider"] == "openai" and found["random/thing"]["confident"]
    assert found["work/claude"]["confident"] is False
    assert "another kind of key" in str(found["work/claude"]["why"])
    assert found["misc/ci-token"]["provider"] == "groq"
    assert found["misc/ci-token"]["confident"] is False
    assert found["xai/inference"]["confident"] is False
    assert found["keys/anthropic-admin"]["confident"] is True


@pytest.mark.cli
def test_apply_tracks_only_confident_matches(mixed: Sandbox) -> None:
    result = mixed.keyz("discover", "--decrypt", "--apply")
    assert result.returncode == 0, result.stderr
    config = (mixed.store / ".keyz" / "config.toml").read_text()
    for entry in ("openrouter/main", "keys/anthropic-admin", "random/thing"):
        assert f'[entries."{entry}"]' in config
    for entry in ("work/claude", "misc/ci-token", "api/mistral", "email/gmail", "xai/inference"):
        assert f'[entries."{entry}"]' not in config
    assert CANARY not in result.stdout + result.stderr + config


def test_rules() -> None:
    from keyz.providers.keys import KeyKind

    assert path_guess("keys/Anthropic-Admin") == ("anthropic", KeyKind.ADMIN, "anthropic")
    assert path_guess("providers/x.ai")[0] == "xai"
    assert path_guess("mail/personal")[0] is None
    anthropic = prefix_of("sk-ant-admin01-x")
    assert anthropic is not None and anthropic.provider == "anthropic"
    assert anthropic.kind is KeyKind.ADMIN
    assert prefix_of("sk-0123") is None
    disagree = judge("api/deepseek", prefix_of("sk-or-v1-aa"))
    assert disagree is not None and not disagree.confident and "disagree" in disagree.why


def test_what_looks_like_an_api_key() -> None:
    from keyz.discover import looks_like_key

    for key in (
        CANARY,
        "sk-or-v1-" + "ab" * 32,
        "sk-cp-" + "demo" * 10,
        "f3a9c1e7b5d24680.Hq8Zt2Wx6R",
    ):
        assert looks_like_key(key), key
    for text in (
        "correct horse battery staple",  # a passphrase: spaces
        "hunter2",  # a password: short
        "Tr0ub4dor&3-Horse!Battery",  # punctuation keys do not use
        "correct-horse-battery-staple",  # words, no digits, no prefix
        "sk-0123456789",  # too short, even with a key's start
    ):
        assert not looks_like_key(text), text


def test_decrypting_many_gives_each_its_key_or_its_own_error(two_keys: Sandbox) -> None:
    """What discover --decrypt and sync share: one entry's failure is that entry's only."""
    from keyz.errors import DecryptError
    from keyz.store import PassStore, Secret, decrypt_each

    (two_keys.store / "api" / "broken.gpg").write_bytes(b"not an OpenPGP message")
    found = decrypt_each(PassStore(two_keys.store), ["api/deepseek", "api/broken", "api/gone"])
    assert isinstance(found[0], Secret) and found[0].value == CANARY
    assert isinstance(found[1], DecryptError) and isinstance(found[2], DecryptError)
    assert "no entry 'api/gone'" in str(found[2])
