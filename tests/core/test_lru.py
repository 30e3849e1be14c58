"""core/lru.py: the per-Store caches are least-recently-used and single-flight."""
from __future__ import annotations

import threading

import pytest

from core import lru


def test_keeps_the_most_recently_used_entries():
    cache = lru.Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_concurrent_callers_of_one_key_compute_once():
    cache = lru.Lru(8)
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow():
        calls.append(1)
        started.set()
        release.wait(10)
        return "answer"

    results = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow)))
    first.start()
    started.wait(10)
    others = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(4)]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join(10)
    assert results == ["answer"] * 5 and len(calls) == 1


def test_a_failure_is_not_cached():
    cache = lru.Lru(8)

    def boom():
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get_or_compute("k", boom)
    assert cache.get_or_compute("k", lambda: 7) == 7


def test_caches_belong_to_their_owner_and_clear_by_name():
    class Owner:
        pass

    a, b = Owner(), Owner()
    lru.cache(a, "sizes", 4).put("k", 1)
    assert lru.cache(b, "sizes", 4).get("k") is None and lru.cache(a, "sizes", 4).get("k") == 1
    lru.cache(a, "other", 4).put("k", 2)
    lru.clear("sizes")
    assert lru.cache(a, "sizes", 4).get("k") is None and lru.cache(a, "other", 4).get("k") == 2
