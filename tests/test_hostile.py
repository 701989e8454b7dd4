"""A hostile provider: keys echoed inside stored text fields, long bodies that cut a key, an
entry's private option echoed back. keyz as a subprocess against the simulator; the keys are
searched (any 8 characters of them, in any letter case) in every output, file and git object.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from keyz.config import EntryConfig, init_keyz_dir, set_entry
from keyz.demo.simulator import Answer, Simulator
from tests.conftest import MakeStore, Sandbox, files_text, git_everything, leaked

MINIMAX_KEY = "sk-cp-Q7vXw2LpR9tYh4KmN8bZc3Jd"
ZAI_KEY = "f3a9c1e7b5d24680.Hq8Zt2Wx6Ry4Pv"
DEEPSEEK_KEY = "sk-hostile4f8a2c6e0b9d1357ab"
XAI_KEY = "xai-mgmt-Kp3Vn7Lq1Zs5Xw9Rt2Yu"
TEAM = "SECRETTEAM42"
KEYS = (MINIMAX_KEY, ZAI_KEY, DEEPSEEK_KEY, XAI_KEY, TEAM)


@pytest.fixture
def hostile(make_sandbox: MakeStore, simulator: Simulator) -> Sandbox:
    entries = {
        "api/minimax": f"{MINIMAX_KEY}\n",
        "api/zai": f"{ZAI_KEY}\n",
        "api/deepseek": f"{DEEPSEEK_KEY}\n",
        "api/xai": f"{XAI_KEY}\nteam_id: {TEAM}\n",
    }
    sandbox = make_sandbox(entries)
    sandbox.env.update(simulator.env("minimax", "zai", "deepseek", "xai"))
    keyz_dir = sandbox.store / ".keyz"
    init_keyz_dir(keyz_dir)
    for name in entries:
        set_entry(keyz_dir, EntryConfig(name, name.split("/")[1]))
    return sandbox


def everything(
    sandbox: Sandbox, *outputs: subprocess.CompletedProcess[str], objects: bool = True
) -> str:
    texts = [o.stdout + o.stderr for o in outputs]
    files = files_text(sandbox.store if objects else sandbox.store / ".keyz")  # .git is binary
    git = git_everything(sandbox) if objects else sandbox.git("log", "-p", "--all", "--no-textconv")
    return "\n".join([*texts, files, git])


@pytest.mark.cli
def test_a_key_echoed_in_stored_text_fields_is_never_written_committed_or_shown(
    hostile: Sandbox, simulator: Simulator
) -> None:
    simulator.minimax(MINIMAX_KEY, interval_percent="62")
    rows = simulator.payloads(MINIMAX_KEY)["/minimax/v1/token_plan/remains"][1]
    simulator.route(
        MINIMAX_KEY,
        "/minimax/v1/token_plan/remains",
        Answer(body=rows.replace(b'"MiniMax-M2"', f'"MiniMax-M2 key={MINIMAX_KEY}"'.encode())),
    )
    simulator.zai(ZAI_KEY)
    limits = simulator.payloads(ZAI_KEY)["/zai/api/monitor/usage/quota/limit"][1]
    simulator.route(
        ZAI_KEY,
        "/zai/api/monitor/usage/quota/limit",
        Answer(body=limits.replace(b'"TIME_LIMIT"', f'"LEAK {ZAI_KEY.upper()}"'.encode())),
    )
    simulator.deepseek(DEEPSEEK_KEY, [("CNY", "1.00", "0", "1.00")])
    simulator.fail(DEEPSEEK_KEY, Answer(401, {"error": {"message": "x" * 169 + DEEPSEEK_KEY}}))
    simulator.fail(XAI_KEY, Answer(404, {"error": f"no such team: /v1/billing/teams/{TEAM}/x"}))
    synced = hostile.keyz("sync", "--commit")
    assert synced.returncode == 1  # deepseek and xai failed; minimax and zai were written
    assert "api/minimax" not in synced.stderr and "api/zai" not in synced.stderr
    assert "api/deepseek: deepseek balance: the key was rejected (HTTP 401)" in synced.stderr
    assert "no such team" in synced.stderr  # the provider's words, without the private team id
    outputs = [synced] + [
        hostile.keyz(*args)
        for args in (("status",), ("status", "--json"), ("check",), ("history",), ("sync",))
    ]
    assert leaked(everything(hostile, *outputs), KEYS) == []


@pytest.mark.cli
def test_control_characters_from_a_provider_never_reach_the_terminal_or_a_commit(
    hostile: Sandbox, simulator: Simulator
) -> None:
    simulator.zai(ZAI_KEY)
    limits = simulator.payloads(ZAI_KEY)["/zai/api/monitor/usage/quota/limit"][1]
    evil = "\x1b[31mRED\x1b]0;pwned\x07\x1b[2J\nNEXT"
    simulator.route(
        ZAI_KEY,
        "/zai/api/monitor/usage/quota/limit",
        Answer(body=limits.replace(b'"TIME_LIMIT"', json.dumps(evil).encode())),
    )
    simulator.fail(DEEPSEEK_KEY, Answer(401, {"error": {"message": evil}}))
    synced = hostile.keyz("sync", "--commit", "api/zai", "api/deepseek")
    shown = [synced, hostile.keyz("status"), hostile.keyz("status", "--json")]
    text = everything(hostile, *shown, objects=False)
    assert [line for line in text.splitlines() if "\x1b" in line] == [] and "\x07" not in text
    assert "\\x1b[31mred" in hostile.keyz("status").stdout.lower()
