"""Per-user caches that stay bounded: the least recently used user is dropped first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class UserCache(Generic[V]):
    """What was loaded for each user, for at most ``max_users`` users at a time.

    Not locked: each owner already guards its cache with its own lock. A dropped user's
    entry is loaded again from the store on its next use, so eviction loses nothing.
    """

    def __init__(self, max_users: int) -> None:
        if max_users < 1:
            raise ValueError("max_users must be at least 1")
        self.max_users = max_users
        self._entries: OrderedDict[str, V] = OrderedDict()

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, user_id: str) -> V | None:
        """The user's entry (now the most recently used), or None."""
        entry = self._entries.get(user_id)
        if entry is not None:
            self._entries.move_to_end(user_id)
        return entry

    def load(self, user_id: str, loader: Callable[[], V]) -> V:
        """The user's entry, loaded by ``loader`` if not held; the oldest go past the limit."""
        entry = self.get(user_id)
        return self.put(user_id, loader()) if entry is None else entry

    def put(self, user_id: str, entry: V) -> V:
        """Hold ``entry`` for the user (the most recently used); the oldest go past the limit."""
        self._entries[user_id] = entry
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.max_users:
            self._entries.popitem(last=False)
        return entry

    def peek(self, user_id: str) -> V | None:
        """The user's entry without marking it used (for writers that update a loaded one)."""
        return self._entries.get(user_id)

    def pop(self, user_id: str) -> None:
        """Drop the user's entry, if held."""
        self._entries.pop(user_id, None)
