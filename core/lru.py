"""Small in-process caches of facts that never change once written (a run's context, a filter's counts,
a grid's key bounds), kept per Store and dropped with it.

One home for the mechanism: a thread-safe least-recently-used map whose `get_or_compute` is
single-flight, so when the views of one interaction ask for the same answer at the same moment the
first request computes it and the others wait for it instead of repeating the query. Only answers
that depend on their key alone are cached here (never per-user state: the key is a run id, a WHERE
and its bound values).
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable, Hashable

WAIT_SECONDS = 60.0  # a waiter gives up and computes itself after this long


class Lru:
    """A thread-safe least-recently-used map of at most `size` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self._running: dict[Hashable, threading.Event] = {}

    def get(self, key: Hashable) -> Any:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value, else `compute()` once: concurrent callers with the same key wait for the
        first one's answer. A failure is not cached (the waiters then compute for themselves)."""
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
                return value
            running = self._running.get(key)
            if running is None:
                mine = self._running[key] = threading.Event()
        if running is not None:
            running.wait(WAIT_SECONDS)
            value = self.get(key)
            return value if value is not None else compute()
        try:
            value = compute()
            if value is not None:
                self.put(key, value)
            return value
        finally:
            with self.lock:
                self._running.pop(key, None)
            mine.set()


_STORES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_STORES_LOCK = threading.Lock()


def cache(owner: Any, name: str, size: int) -> Lru:
    """The cache called `name` of `owner` (a Store), created with `size` entries on first use."""
    with _STORES_LOCK:
        caches = _STORES.get(owner)
        if caches is None:
            caches = _STORES[owner] = {}
        found = caches.get(name)
        if found is None:
            found = caches[name] = Lru(size)
        return found


def clear(*names: str) -> None:
    """Forget the named caches of every owner (all of them when no name is given): tests and benchmarks."""
    with _STORES_LOCK:
        for caches in _STORES.values():
            for name in names or list(caches):
                caches.pop(name, None)
