"""Rasa's Redis lock store, with its read-modify-write steps made atomic.

Rasa 3.6's RedisLockStore keeps each conversation's ticket queue as one
serialised value and updates it by get, change, set. Two Rasa processes that
take a message of the same conversation at the same moment can both read the
empty queue and both get ticket 0: both then process at once and one message
is lost (tests/test_scaleout.py showed it in about one run in three). The same
race lets `cleanup` delete a ticket issued between its check and its delete.

This store takes a short Redis mutex (SET NX with an expiry, redis-py's Lock)
around each of those steps, per conversation. Use it with
`lock_store: type: stores.redis_lock_store.AtomicRedisLockStore` and the same
settings as Rasa's `type: redis` (deploy/endpoints.yml).
"""

from __future__ import annotations

from typing import Text

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.lock import Lock

MUTEX_SECONDS = 10  # how long one step may hold the mutex, and wait for it


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose ticket updates cannot interleave between processes."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        """Connect as Rasa's `type: redis` lock store does, from the same settings."""
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def _mutex(self, conversation_id: Text) -> Lock:
        return self.red.lock(
            f"{self.key_prefix}{conversation_id}:mutex",
            timeout=MUTEX_SECONDS,
            blocking_timeout=MUTEX_SECONDS,
        )

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue a ticket while no other process changes this conversation's queue."""
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: Text) -> None:
        """Drop expired tickets, atomically."""
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        """Remove a served ticket, atomically."""
        with self._mutex(conversation_id):
            super().finish_serving(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Remove the ticket, and the queue if nobody waits, as one step."""
        with self._mutex(conversation_id):
            super().finish_serving(conversation_id, ticket_number)
            if not self.is_someone_waiting(conversation_id):
                self.delete_lock(conversation_id)
