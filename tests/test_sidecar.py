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
    return sc.Sidecar(**fields)  # type: ignore[arg-type]


def test_bytes_match_the_design_example() -> None:
    expected = {
        "schema_version": 1,
        "entry": "api/deepseek",
        "provider": "deepseek",
        "observed_at": "2026-11-22T10:15:00Z",
        "available": True,
        "balances": [
            {"currency": "CNY", "remaining": "110.00", "granted": "10.00", "topped_up": "100.00"},
            {"currency": "USD", "remaining": "5.25"},
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
    assert data["balances"] == [{"currency": "USD", "remaining": "100"}]
    unknown = json.loads(sc.dumps(make(balances=[sc.Balance(currency="USD", remaining=None)])))
    assert unknown["balances"] == [{"currency": "USD", "remaining": None}]


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
    "payload", [b"{", b"[]", b'{"schema_version": "1"}', b'{"schema_version": 1}']
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


def test_checked_in_schema_matches_the_models() -> None:
    checked_in = (SCHEMA_DIR / f"sidecar-v{sc.SCHEMA_VERSION}.json").read_text()
    assert checked_in == sc.json_schema_text(), "run 'make schema' and commit schema/"


def test_schema_describes_required_fields() -> None:
    schema = sc.json_schema()
    assert set(schema["required"]) >= {"entry", "provider", "observed_at", "available"}
    assert schema["properties"]["schema_version"]["const"] == 1
