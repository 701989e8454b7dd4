import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from keyz import sidecar as sc
from keyz.errors import KeyzError, SidecarError

SCHEMA_DIR = Path(__file__).parent.parent / "schema"
WHEN = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


def make(**changes: object) -> sc.Sidecar:
    fields: dict[str, object] = {
        "entry": "api/deepseek",
        "provider": "deepseek",
        "observed_at": WHEN,
        "available": True,
        "balances": [
            sc.Balance(currency="USD", remaining=Decimal("5.25")),
            sc.Balance(
                currency="CNY",
                remaining=Decimal("110.00"),
                granted=Decimal("10.00"),
                topped_up=Decimal("100.00"),
            ),
        ],
    }
    fields.update(changes)
    return sc.Sidecar.model_validate(fields)


def test_bytes_match_the_design_example() -> None:
    expected = {
        "schema_version": 3,
        "entry": "api/deepseek",
        "provider": "deepseek",
        "observed_at": "2026-11-22T10:15:00Z",
        "available": True,
        "balances": [
            {
                "currency": "CNY",
                "unit_kind": "currency",
                "remaining": "110.00",
                "granted": "10.00",
                "topped_up": "100.00",
            },
            {"currency": "USD", "unit_kind": "currency", "remaining": "5.25"},
        ],
    }
    text = json.dumps(expected, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert sc.dumps(make()) == text.encode()


def test_output_does_not_depend_on_input_order() -> None:
    reordered = make(balances=list(reversed(make().balances)))
    assert sc.dumps(reordered) == sc.dumps(make())


def test_decimals_are_plain_strings_and_unknown_is_null_or_absent() -> None:
    data = json.loads(
        sc.dumps(
            make(available=None, balances=[sc.Balance(currency="USD", remaining=Decimal("1E+2"))])
        )
    )
    assert data["available"] is None
    assert data["balances"] == [{"currency": "USD", "unit_kind": "currency", "remaining": "100"}]
    unknown = json.loads(sc.dumps(make(balances=[sc.Balance(currency="USD", remaining=None)])))
    assert unknown["balances"] == [{"currency": "USD", "unit_kind": "currency", "remaining": None}]


def test_floats_are_refused_in_files() -> None:
    data = json.loads(sc.dumps(make()))
    data["balances"][0]["remaining"] = 110.0
    with pytest.raises(SidecarError, match="float"):
        sc.loads(json.dumps(data).encode())


def test_non_ascii_is_written_as_utf8() -> None:
    text = sc.dumps(make(entry="api/clé")).decode("utf-8")
    assert '"api/clé"' in text


def test_write_read_write_is_byte_identical() -> None:
    first = sc.dumps(make())
    assert sc.dumps(sc.loads(first)) == first


def test_newer_schema_is_refused_with_upgrade_advice() -> None:
    data = json.loads(sc.dumps(make()))
    data["schema_version"] = 99
    with pytest.raises(SidecarError, match="newer keyz; upgrade keyz"):
        sc.loads(json.dumps(data).encode())


@pytest.mark.parametrize(
    "payload",
    [b"{", b"[]", b'{"schema_version": "1"}', b'{"schema_version": 1}', b"[" * 100000],
)
def test_corrupt_files_are_reported_with_what_to_do(payload: bytes) -> None:
    with pytest.raises(SidecarError, match="fix or delete it"):
        sc.loads(payload, source="x.json")


def test_unchanged_values_leave_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "entries" / "api" / "deepseek.json"
    first = sc.write_if_changed(path, make(), None)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    later = make(observed_at=datetime(2026, 11, 23, tzinfo=UTC))
    kept = sc.write_if_changed(path, later, sc.read(path))
    assert kept == first
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_changed_values_are_written_with_the_new_time(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    sc.write_if_changed(path, make(), None)
    later = make(observed_at=datetime(2026, 11, 23, tzinfo=UTC), available=False)
    sc.write_if_changed(path, later, sc.read(path))
    assert sc.read(path) == later


def test_failed_replace_keeps_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "entries" / "a.json"
    sc.write_if_changed(path, make(), None)
    old = path.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyzError, match="previous file is unchanged"):
        sc.write_if_changed(path, make(available=False), sc.read(path))
    assert path.read_bytes() == old
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]


def test_write_fsyncs_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(
            os.path.isdir(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else False
        )
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    sc.write_if_changed(tmp_path / "a.json", make(), None)
    assert synced.count(False) >= 1 and synced.count(True) >= 1


@pytest.mark.parametrize("version", sc.VERSIONS)
def test_checked_in_schema_matches_the_models(version: int) -> None:
    checked_in = (SCHEMA_DIR / f"sidecar-v{version}.json").read_text()
    assert checked_in == sc.json_schema_text(version), "run 'make schema' and commit schema/"


def test_every_version_has_a_schema_file_and_nothing_else_does() -> None:
    assert sorted(p.name for p in SCHEMA_DIR.glob("sidecar-v*.json")) == [
        f"sidecar-v{v}.json" for v in sc.VERSIONS
    ]
    assert max(sc.VERSIONS) == sc.SCHEMA_VERSION


@pytest.mark.parametrize("version", sc.VERSIONS)
def test_schema_describes_required_fields(version: int) -> None:
    schema = sc.json_schema(version)
    assert set(schema["required"]) >= {"entry", "provider", "observed_at", "available"}
    assert schema["properties"]["schema_version"]["const"] == version


# --- version 2: provenance, units, spend and quota sections -----------------------------


def test_provider_units_must_say_they_are_not_currencies() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        sc.Balance(currency="POINTS", remaining=Decimal(1500))
    points = sc.Balance(currency="POINTS", unit_kind="provider", remaining=Decimal(1500))
    data = json.loads(sc.dumps(make(balances=[points])))
    assert data["balances"] == [
        {"currency": "POINTS", "unit_kind": "provider", "remaining": "1500"}
    ]


def test_derived_marks_name_present_figures_only() -> None:
    with pytest.raises(ValueError, match="unknown figures"):
        sc.Balance(currency="USD", remaining=Decimal(1), derived=["colour"])
    with pytest.raises(ValueError, match="must be present"):
        sc.Balance(currency="USD", remaining=Decimal(1), derived=["used"])
    ok = sc.Balance(currency="USD", remaining=Decimal(1), derived=["remaining", "remaining"])
    assert ok.derived == ["remaining"]


def test_spend_and_quotas_round_trip_sorted() -> None:
    spend = [
        sc.Spend(period="this_month", currency="USD", amount=Decimal("1.23"), derived=["amount"]),
        sc.Spend(period="last_30_days", currency="USD", amount=Decimal("4.56")),
    ]
    quotas = [
        sc.Quota(label="weekly", window="7d", remaining_percent=Decimal(80)),
        sc.Quota(label="tokens", window="5h", remaining_percent=None, unlimited=True),
    ]
    first = sc.dumps(make(spend=spend, quotas=quotas))
    data = json.loads(first)
    assert [s["period"] for s in data["spend"]] == ["last_30_days", "this_month"]
    assert [q["label"] for q in data["quotas"]] == ["tokens", "weekly"]
    assert data["quotas"][0] == {
        "label": "tokens",
        "window": "5h",
        "remaining_percent": None,
        "unlimited": True,
    }
    assert sc.dumps(sc.loads(first)) == first


# --- version 1 files: read transparently, migrated to exact bytes --------------------------

FIXTURES = Path(__file__).parent / "fixtures" / "sidecars"


@pytest.mark.parametrize("name", ["deepseek", "openrouter-credits", "openrouter-key"])
def test_v1_golden_files_migrate_to_exact_v3_bytes(name: str) -> None:
    v1 = (FIXTURES / f"{name}.v1.json").read_bytes()
    expected = (FIXTURES / f"{name}.v3.json").read_bytes()
    assert sc.version_of(v1) == 1
    assert sc.dumps(sc.loads(v1)) == expected
    assert sc.dumps(sc.loads(expected)) == expected  # and v3 is stable


@pytest.mark.parametrize("name", ["deepseek", "openrouter-credits", "openrouter-key"])
def test_v2_golden_files_migrate_to_exact_v3_bytes_losing_nothing(name: str) -> None:
    v2 = (FIXTURES / f"{name}.v2.json").read_bytes()
    expected = (FIXTURES / f"{name}.v3.json").read_bytes()
    assert sc.version_of(v2) == 2
    assert sc.dumps(sc.loads(v2)) == expected
    before, after = json.loads(v2), json.loads(expected)
    assert before.pop("schema_version") == 2 and after.pop("schema_version") == 3
    assert before == after  # every v2 field, figure and mark as it was


def test_a_v2_file_with_every_section_upgrades_losslessly() -> None:
    from keyz.sidecar_v2 import SidecarV2

    full = {
        "schema_version": 2,
        "entry": "api/x",
        "provider": "openrouter",
        "observed_at": "2026-11-22T10:15:00Z",
        "available": False,
        "balances": [
            {"currency": "USD", "remaining": "1.5", "used": "2", "source": "/b", "derived": []},
            {"currency": "POINTS", "unit_kind": "provider", "remaining": None},
        ],
        "key_limit": {"limit": None, "remaining": None, "usage": "3", "reset": None},
        "spend": [
            {
                "period": "this_month",
                "start": "2026-11-01T00:00:00Z",
                "currency": "USD",
                "amount": "4.25",
                "derived": ["amount"],
                "breakdown": [{"label": "gpt", "amount": "4.25"}],
            }
        ],
        "quotas": [{"label": "tokens", "window": "5h", "remaining_percent": "62.5"}],
        "notes": ["a note"],
    }
    v2 = SidecarV2.model_validate(full)
    v3 = sc.loads(json.dumps(full).encode())
    assert v3.schema_version == 3 and v3.account_keys == []
    after = json.loads(sc.dumps(v3))
    before = v2.model_dump(mode="json")
    assert after.pop("schema_version") == 3 and before.pop("schema_version") == 2
    assert after == before


def test_the_keys_golden_file_is_the_current_format_as_written() -> None:
    raw = (FIXTURES / "openrouter-keys.v3.json").read_bytes()
    current = sc.loads(raw)
    assert sc.dumps(current) == raw
    assert [k.hash for k in current.account_keys] == [
        "0b8e0c2b8f5d4a7e9c1d3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c",
        "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
        None,  # withheld: listed last
    ]


def test_a_v3_only_field_in_a_v2_file_is_refused_against_version_2() -> None:
    data = json.loads((FIXTURES / "openrouter-credits.v2.json").read_text())
    data["account_keys"] = [{"name": "x"}]
    with pytest.raises(SidecarError, match="format version 2"):
        sc.loads(json.dumps(data).encode())


# --- version 3: account keys ---------------------------------------------------------------


def key(**fields: object) -> sc.AccountKey:
    return sc.AccountKey.model_validate(fields)


def test_account_keys_are_sorted_by_hash_whatever_the_input_order() -> None:
    keys = [
        key(hash="bb", usage=Decimal(1)),
        key(name="no id", usage=Decimal(9)),
        key(hash="aa", usage=Decimal(2)),
    ]
    one = sc.dumps(make(account_keys=keys))
    other = sc.dumps(make(account_keys=list(reversed(keys))))
    assert one == other
    data = json.loads(one)
    assert [k.get("hash") for k in data["account_keys"]] == ["aa", "bb", None]
    assert data["account_keys"][0] == {"currency": "USD", "hash": "aa", "usage": "2"}


def test_one_item_per_key_hash() -> None:
    with pytest.raises(ValueError, match="one item per key hash"):
        make(account_keys=[key(hash="aa"), key(hash="aa", usage=Decimal(1))])


@pytest.mark.parametrize("field", ["hash", "name", "label"])
def test_an_account_key_text_shaped_like_a_key_is_never_written(field: str) -> None:
    with pytest.raises(ValueError, match="shaped like an API key"):
        key(**{field: "prod sk-or-v1-" + "ab" * 32})
    assert key(label="sk-or-v1-0e6...1c96").label == "sk-or-v1-0e6...1c96"  # masked is fine


def test_account_keys_are_bounded() -> None:
    many = [key(hash=f"{i:04x}") for i in range(sc.MAX_ACCOUNT_KEYS + 1)]
    with pytest.raises(ValueError, match="at most 200"):
        make(account_keys=many)
    with pytest.raises(ValueError, match="at most 100 characters"):
        key(name="n" * 101)


def test_a_broken_v1_file_is_reported_against_version_1() -> None:
    data = json.loads((FIXTURES / "deepseek.v1.json").read_text())
    data["balances"][0]["unit_kind"] = "currency"  # a v2 field in a v1 file
    with pytest.raises(SidecarError, match="format version 1"):
        sc.loads(json.dumps(data).encode())


@pytest.mark.parametrize(
    "figure",
    [
        '"1000000000000000000000000000000"',  # 1e30: written once, then every display crashed
        '"1000000000000000"',  # 16 digits before the point
        '"0.0000000000001"',  # 13 after it
        '"١٠٠"',  # Arabic-Indic digits
        '"１２３"',
        '"1e5"',
        '" 7"',
        '"+7"',
        '"7\\n"',
        "5",  # a JSON number, not a decimal string
        pytest.param("1" * 5000, id="5000-digit number"),  # past Python's int-from-text limit
        pytest.param('"' + "1" * 5000 + '"', id="5000-digit string"),
    ],
)
def test_out_of_bound_figures_are_refused_when_reading(figure: str) -> None:
    raw = sc.dumps(make()).replace(b'"110.00"', figure.encode(), 1)
    assert figure.encode() in raw
    with pytest.raises(SidecarError, match=r"x\.json"):
        sc.loads(raw, source="x.json")


def test_the_bounds_themselves_are_read_and_written_exactly() -> None:
    for figure in (
        "999999999999999.999999999999",
        "-999999999999999.999999999999",
        "0.000000000001",
    ):
        data = json.loads(sc.dumps(make()))
        data["balances"][0]["remaining"] = figure
        raw = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"
        assert sc.dumps(sc.loads(raw)) == raw


@pytest.mark.parametrize("figure", ["1E+15", "1E+30", "1E-13", "-1E+99999999"])
def test_out_of_bound_figures_never_make_a_sidecar(figure: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        sc.Balance(currency="USD", remaining=Decimal(figure))


def test_the_commit_message_reads_back_only_what_the_run_did_not_write(tmp_path: Path) -> None:
    from keyz.ledger import commit_message

    written = make()
    other = make(entry="api/other")
    for sidecar in (written, other):
        path = tmp_path / f".keyz/entries/{sidecar.entry}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sc.dumps(sidecar))
    paths = [f".keyz/entries/{written.entry}.json", f".keyz/entries/{other.entry}.json"]
    from_disk = commit_message(tmp_path, paths)
    assert commit_message(tmp_path, paths, {paths[0]: written}) == from_disk
    (tmp_path / paths[0]).unlink()  # what the run wrote is taken as it is, not read back
    assert commit_message(tmp_path, paths, {paths[0]: written}) == from_disk
    assert "api/other: removed" not in from_disk and from_disk.startswith("keyz: sync 2 entries")
