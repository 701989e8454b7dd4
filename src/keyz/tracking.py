"""``keyz track`` (and ``keyz ui``'s ``t``): the checks before an entry is tracked.

One function for both, so the terminal UI cannot track a key the command would refuse.
The key is decrypted only to check its shape (never shown): it must look like an API key,
and not like another provider's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keyz.config import Config, EntryConfig, set_entry
from keyz.discover import NOT_A_KEY, looks_like_key, prefix_of
from keyz.errors import DecryptError, UsageError
from keyz.store import PassStore
from keyz.sync import check_key_belongs


@dataclass
class Tracked:
    entry: str
    provider: str
    key_needed: str  # what kind of key the provider needs, e.g. "an API key"
    changed: bool  # False: it was tracked with this provider already
    warnings: list[str] = field(default_factory=list)  # each one line, said with "warning:"

    @property
    def message(self) -> str:
        verb = "Tracking" if self.changed else "Already tracking"
        return f"{verb} {self.entry} with {self.provider} (needs {self.key_needed})"


def track_entry(
    store: PassStore,
    config: Config,
    name: str,
    provider_id: str,
    options: dict[str, str] | None = None,
    *,
    force: bool = False,
) -> Tracked:
    """Track pass entry ``name`` with ``provider_id``, or raise the KeyzError that says why not.

    ``name`` must be a valid entry name (:func:`keyz.store.validate_entry_name`).
    """
    from keyz.providers import get_provider

    if not store.has_entry(name):
        raise UsageError(f"no entry {name!r} in {store.root} (pass ls shows what there is)")
    provider = get_provider(provider_id)
    parsed = dict(options or {})
    provider.check_options(parsed)
    before = config.entries.get(name)
    if before is not None and before.provider != provider.id and not force:
        raise UsageError(
            f"{name} is tracked with {before.provider}; -p {provider.id} would send its key to "
            f"{provider.id} instead. If that is right: keyz track {name} -p {provider.id} --force"
        )
    try:
        secret = store.decrypt(name)
    except DecryptError as exc:
        raise DecryptError(f"cannot decrypt {name} to check its key: {exc}; not tracked") from None
    finally:
        store.close()
    check_key_belongs(
        EntryConfig(name, provider.id), secret.value, secret.hints.get("provider"), tracking=True
    )  # sync refuses such a key too: --force cannot help it
    hinted = {k: v for k, v in secret.hints.items() if k in provider.options}
    provider.check_options(hinted, origin="the pass entry's line")
    warnings = []
    if not force and not looks_like_key(secret.value):
        raise UsageError(f"{name}: {NOT_A_KEY}; not tracked. If it is one: --force")
    shape = prefix_of(secret.value)
    if shape is not None and not shape.usable:
        warnings.append(f"the key looks like {shape.label}; {provider.id} needs another kind")
    missing = provider.missing_from_entry(secret.hints, parsed, entry=name)
    if missing:
        warnings.append(f"{missing}; its sync fails until then")
    changed = set_entry(store.keyz_dir, EntryConfig(name, provider.id, parsed))
    return Tracked(name, provider.id, provider.key_needed(), changed, warnings)


__all__ = ["Tracked", "track_entry"]
