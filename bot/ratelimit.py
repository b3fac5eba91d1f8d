"""Per-key sliding-window limits, kept in memory only: who did what when is not worth a row at
rest, and a restart forgetting the windows costs nothing.

`SlidingWindow(limit, window_s)` admits at most `limit` events per key in any `window_s`;
refused events do not count against the key. `first_refusal` says whether a refused key should
be told (once per window), so a flood gets one notice, not one reply per message.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

SWEEP_AT = 10_000  # keys held before idle ones are dropped


class SlidingWindow:
    """At most `limit` admitted events per key in any `window_s` seconds."""

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sweep_at: int = SWEEP_AT,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._sweep_at = sweep_at
        self._admitted: dict[Hashable, deque[float]] = {}
        self._told: dict[Hashable, float] = {}

    def allow(self, key: Hashable) -> bool:
        """Admit and count one event for `key`, or return False (not counted) over the limit."""
        now = self._clock()
        if len(self._admitted) >= self._sweep_at:
            self._sweep(now)
        times = self._admitted.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def first_refusal(self, key: Hashable) -> bool:
        """True if `key` was not told about a refusal within the last window (and mark it told)."""
        now = self._clock()
        told = self._told.get(key)
        if told is not None and now - told < self.window_s:
            return False
        self._told[key] = now
        return True

    def forget(self, key: Hashable) -> None:
        """Drop what is held about `key` (e.g. after /forget)."""
        self._admitted.pop(key, None)
        self._told.pop(key, None)

    def _sweep(self, now: float) -> None:
        before = now - self.window_s
        for key in [k for k, times in self._admitted.items() if not times or times[-1] <= before]:
            del self._admitted[key]
        for key in [k for k, at in self._told.items() if at <= before]:
            del self._told[key]

    def __len__(self) -> int:
        return len(self._admitted)
