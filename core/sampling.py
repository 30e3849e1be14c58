"""Per-segment quotas and hash cut-offs of the scatter's deterministic stratified sample (core.views).

Within each segment the rows with the smallest hash(__row) are kept; these helpers say how many per
segment and which hash cut-off keeps comfortably more than that, so the SQL's WHERE drops most rows
cheaply before QUALIFY trims to the exact quota.
"""
from __future__ import annotations

import math

HASH_BITS = 32  # the sampling key is the top 32 bits of hash(__row)
MIN_POINTS_PER_SEGMENT = 50  # small segments stay visible in the scatter sample
HASH_KEY = "__h"  # the sampling key's column name (stored in a run's sample table, core/aggregates.py)
HASH_SQL = f"(hash(__row) >> {64 - HASH_BITS})"  # the key of a row


def quotas(sizes: dict[int, int], budget: int) -> dict[int, int]:
    """Points per segment: everything when it fits, else a floor per segment and the rest
    proportionally (largest remainder). Never more than `budget` in all."""
    sizes = {s: n for s, n in sizes.items() if n > 0}
    total = sum(sizes.values())
    if total <= budget:
        return dict(sizes)
    if budget <= 0:
        return {}
    floor = min(MIN_POINTS_PER_SEGMENT, budget // len(sizes))
    quota = {s: min(n, floor) for s, n in sizes.items()}
    left = budget - sum(quota.values())
    rest = {s: n - quota[s] for s, n in sizes.items()}
    rest_total = sum(rest.values())
    if left > 0 and rest_total > 0:
        exact = {s: left * r / rest_total for s, r in rest.items()}
        for s in exact:
            quota[s] += int(exact[s])
        leftover = left - sum(int(v) for v in exact.values())
        for s in sorted(exact, key=lambda s: (int(exact[s]) - exact[s], s))[:leftover]:
            if quota[s] < sizes[s]:
                quota[s] += 1
    return quota


def per_segment(quota: dict[int, int], k: int) -> list[int]:
    return [quota.get(s, 0) for s in range(1, k + 1)]


def cutoffs(quota: dict[int, int], sizes: dict[int, int], k: int) -> list[int]:
    return [_threshold(quota.get(s, 0), sizes.get(s, 0)) for s in range(1, k + 1)]


def _threshold(quota: int, size: int) -> int:
    """A hash cut-off that keeps comfortably more than `quota` of `size` rows (trimmed exactly after)."""
    if quota <= 0 or size <= 0:
        return 0
    if quota >= size:
        return 1 << HASH_BITS
    rate = min(1.0, (quota * 1.2 + 64) / size)
    return int(math.ceil(rate * (1 << HASH_BITS)))
