"""A model of a sync's lanes: how soon the last answer comes, for two decryption orders.

    .venv/bin/python benchmarks/lane_model.py [--mixes 400] [--seed 1]

Decryption hands out one key every ``per`` seconds from 0.25 s on; each provider's lane is
a pool of ``cap`` servers and holds a key for ``round_trips * latency``. It compares the
order keyz uses (:func:`keyz.sync.interleave`: earliest deadline first on each lane's work)
with the one before 2026-12-06 (each provider's keys spread evenly over the decryption,
those of two round trips over its first half, caps ignored): on the bench's mix, then on
random mixes of keyz's providers. A model, not a measurement: real decryption shares the
cores with keyz's own work (benchmarks/README.md, "2026-12-06").
"""

from __future__ import annotations

import argparse
import heapq
import random
from collections.abc import Mapping, Sequence

from keyz.config import EntryConfig
from keyz.providers import KNOWN, get_provider
from keyz.sync import interleave

START = 0.25  # seconds before the first key is decrypted (start-up, checks)


def spread(entries: Sequence[EntryConfig]) -> list[EntryConfig]:
    """The order before 2026-12-06."""
    queues: dict[str, list[EntryConfig]] = {}
    for entry in entries:
        queues.setdefault(entry.provider, []).append(entry)
    placed = sorted(
        ((i + 0.5) / (len(queue) * get_provider(pid).round_trips), rank, i, entry)
        for rank, (pid, queue) in enumerate(queues.items())
        for i, entry in enumerate(queue)
    )
    return [entry for *_, entry in placed]


def last_answer(
    order: Sequence[EntryConfig], caps: Mapping[str, int], per: float, latency: float
) -> float:
    """When the last lane is done, keys decrypted in ``order`` one every ``per`` seconds."""
    free = {pid: [0.0] * cap for pid, cap in caps.items()}
    end = 0.0
    for k, entry in enumerate(order):
        servers = free[entry.provider]
        begins = max(START + (k + 1) * per, heapq.heappop(servers))
        done = begins + get_provider(entry.provider).round_trips * latency
        heapq.heappush(servers, done)
        end = max(end, done)
    return end


def ratio(entries: Sequence[EntryConfig], caps: Mapping[str, int], per: float, lat: float) -> float:
    """The new order's last answer over the old one's."""
    new = last_answer(interleave(entries, caps), caps, per, lat)
    return new / last_answer(spread(entries), caps, per, lat)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per", type=float, default=0.008, help="seconds per decryption")
    args = parser.parse_args()

    bench = ("deepseek", "openrouter", "novita")
    caps = {pid: get_provider(pid).concurrency for pid in bench}
    print(f"the bench's mix, one decryption every {args.per * 1000:g} ms: new / old order")
    for count in (100, 1000):
        entries = [EntryConfig(f"api/{bench[i % 3]}/{i:05d}", bench[i % 3]) for i in range(count)]
        cells = [
            f"{lat * 1000:g} ms {ratio(entries, caps, args.per, lat):.3f}"
            for lat in (0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
        ]
        print(f"  {count:5} entries: " + ", ".join(cells))

    if args.mixes < 1:
        return 0
    rng = random.Random(args.seed)
    ratios = []
    for _ in range(args.mixes):
        pids = rng.sample(KNOWN, rng.randint(1, 5))
        mix_caps = {pid: rng.choice((1, 2, 4, 8, 16, 32)) for pid in pids}
        entries = [
            EntryConfig(f"{pid}/{i}", pid) for pid in pids for i in range(rng.randint(1, 400))
        ]
        rng.shuffle(entries)
        per = rng.choice((0.002, 0.005, 0.008, 0.012))
        ratios.append(ratio(entries, mix_caps, per, rng.choice((0.05, 0.1, 0.2, 0.3, 0.5))))
    later = sum(r > 1.001 for r in ratios)
    sooner = sum(r < 0.999 for r in ratios)
    print(
        f"{args.mixes} random mixes (1-5 providers, caps 1-32, 1-400 entries each, "
        f"2-12 ms a decryption, 50-500 ms a round trip): new / old from {min(ratios):.3f} "
        f"to {max(ratios):.3f}; sooner in {sooner}, later in {later}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
