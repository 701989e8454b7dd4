from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from keyz.config import (
    EntryConfig,
    init_keyz_dir,
    load_config,
    parse_option,
    remove_entry,
    set_entry,
)
from keyz.errors import ConfigError, UsageError


@pytest.fixture
def keyz_dir(tmp_path: Path) -> Path:
    path = tmp_path / ".keyz"
    init_keyz_dir(path)
    return path


def test_init_creates_the_folder_and_keeps_existing_files(tmp_path: Path) -> None:
    keyz_dir = tmp_path / ".keyz"
    created = init_keyz_dir(keyz_dir)
    assert sorted(p.name for p in created) == [
        ".gitattributes",
        ".gitignore",
        "README.md",
        "config.toml",
    ]
    assert "/state/" in (keyz_dir / ".gitignore").read_text()
    assert "entries/**/*.json merge=keyz" in (keyz_dir / ".gitattributes").read_text()
    (keyz_dir / "README.md").write_text("mine\n")
    assert init_keyz_dir(keyz_dir) == []
    assert (keyz_dir / "README.md").read_text() == "mine\n"
    config = load_config(keyz_dir)
    assert config.git == "off" and config.entries == {}


def test_track_keeps_hand_edits_and_comments(keyz_dir: Path) -> None:
    path = keyz_dir / "config.toml"
    path.write_text(path.read_text().replace('git = "off"', 'git = "commit"  # I like a ledger'))
    assert set_entry(keyz_dir, EntryConfig("api/deepseek", "deepseek"))
    assert set_entry(keyz_dir, EntryConfig("api/moon", "deepseek", {"region": "cn"}))
    assert not set_entry(keyz_dir, EntryConfig("api/deepseek", "deepseek")), "no change, no write"
    text = path.read_text()
    assert "# I like a ledger" in text and "# keyz configuration" in text
    assert '[entries."api/deepseek"]' in text
    config = load_config(keyz_dir)
    assert config.git == "commit"
    assert config.entries["api/moon"].options == {"region": "cn"}
    assert remove_entry(keyz_dir, "api/deepseek")
    assert not remove_entry(keyz_dir, "api/deepseek")
    assert "# I like a ledger" in path.read_text()
    assert list(load_config(keyz_dir).entries) == ["api/moon"]


def test_missing_config_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="keyz init"):
        load_config(tmp_path / ".keyz")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema_version = 1\n[defaults\n", "not valid TOML"),
        ("schema_version = 7\n", "newer keyz; upgrade keyz"),
        ("schema_version = 1\nsurprise = 1\n", "unknown top-level"),
        ('schema_version = 1\n[defaults]\ngit = "always"\n', "git must be one of"),
        ("schema_version = 1\n[defaults]\ntimeout = 0\n", "timeout"),
        ('schema_version = 1\n[entries."a"]\nprovider = "*"\n', "provider"),
        (
            'schema_version = 1\n[entries."a"]\nprovider = "deepseek"\nregion = 3\n',
            "must be a string",
        ),
        ('schema_version = 1\n[providers.deepseek]\ncolour = "red"\n', "base_url, concurrency"),
        ("schema_version = 1\n[providers.deepseek]\nconcurrency = 0\n", "concurrency"),
        ("schema_version = 1\n[providers.deepseek]\nconcurrency = true\n", "1 to 64"),
        ("schema_version = 0\n", "schema_version must be 1"),
        ('schema_version = 1\n[defaults]\ntimeout = "30"\n', "seconds from 1 to 600"),
        ("schema_version = 1\n[defaults]\nmax_age = 12\n", 'like "12h"'),
        ("schema_version = 1\n[defaults]\ncolour = 1\n", r"unknown key\(s\) \['colour'\] in"),
        ("schema_version = 1\nentries = 3\n", r"entries must be a table \(\[entries\]\)"),
        ("schema_version = 1\n[entries]\na = 3\n", '"a"\\] must be a table'),
        (
            'schema_version = 1\n[entries."a"]\nprovider = "x"\nalert_below_percent = 101\n',
            "alert_below_percent must be a number from 0 to 100",
        ),
    ],
)
def test_bad_config_is_refused_with_the_file_and_the_fix(
    keyz_dir: Path, text: str, message: str
) -> None:
    (keyz_dir / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(keyz_dir)
    assert info.value.exit_code == 2
    assert "config.toml" in str(info.value)


def test_a_config_that_cannot_be_read_is_never_rewritten(keyz_dir: Path) -> None:
    path = keyz_dir / "config.toml"
    path.write_text("schema_version = 1\n[oops\n")
    with pytest.raises(ConfigError):
        set_entry(keyz_dir, EntryConfig("a", "deepseek"))
    assert path.read_text() == "schema_version = 1\n[oops\n"


def test_oversized_config_is_refused(keyz_dir: Path) -> None:
    (keyz_dir / "config.toml").write_text("schema_version = 1\n" + "# x\n" * 300_000)
    with pytest.raises(ConfigError, match="larger than"):
        load_config(keyz_dir)


@pytest.mark.parametrize("text", ["region", "=cn", "Region=cn", "region=", "a b=c", "region=c\nn"])
def test_bad_options_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="key=value"):
        parse_option(text)


def test_option_values_may_contain_equals() -> None:
    assert parse_option("team_id=a=b") == ("team_id", "a=b")


def test_an_entry_name_with_control_characters_in_a_pushed_config_is_refused(
    tmp_path: Path,
) -> None:
    from keyz.config import load_config
    from keyz.errors import ConfigError

    keyz_dir = tmp_path / ".keyz"
    keyz_dir.mkdir()
    (keyz_dir / "config.toml").write_text(
        'schema_version = 1\n[entries."api/\\u001b[2Jx"]\nprovider = "deepseek"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(keyz_dir)
    assert "\x1b" not in str(info.value) and "\\x1b[2Jx" in str(info.value)
    (keyz_dir / "config.toml").write_text('schema_version = 1\n[providers."a\\u001b[2J"]\nx = 1\n')
    with pytest.raises(ConfigError, match="may only set") as info:
        load_config(keyz_dir)
    assert "\x1b" not in str(info.value) and "\\x1b[2J" in str(info.value)


def test_a_valid_config_is_read_into_typed_values(keyz_dir: Path) -> None:
    (keyz_dir / "config.toml").write_text(
        'schema_version = 1\n[defaults]\ngit = "commit"\ntimeout = 12\nmax_age = "1d"\n'
        'alert_below = ["5 USD", "30 cny"]\n[entries."a"]\nprovider = "deepseek"\n'
        'region = "cn"\nalert_runway_days = 7.5\n[providers.deepseek]\nconcurrency = 3\n'
    )
    config = load_config(keyz_dir)
    assert (config.git, config.timeout, config.max_age) == ("commit", 12.0, timedelta(days=1))
    assert [str(t) for t in config.alerts.below or ()] == ["5 USD", "30 CNY"]
    entry = config.entries["a"]
    assert (entry.provider, entry.options) == ("deepseek", {"region": "cn"})
    assert config.alerts_for(entry).runway_days == Decimal("7.5")
    assert config.providers["deepseek"].concurrency == 3
