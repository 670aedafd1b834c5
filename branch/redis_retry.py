"""How a Redis client that may repeat its commands rides out a restarted Redis.

A restart closes every pooled connection; without a retry the first command on
each stale connection fails, and a page being set up at that moment is closed
instead of served. Only clients whose commands are safe to run twice use this
(reads, idempotent writes, the live store's token-checked commit); the
publisher of signaling messages does not, so a message is never sent twice.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError


def retrying_options(*, on_timeout: bool = False) -> dict[str, Any]:
    """Keyword arguments for `Redis.from_url`: three retries on a new connection, within ~1 s.

    A closed connection is what a restart leaves, so it is always retried. A
    timeout is retried only where asked: a client whose timeout marks a Redis
    that is away would otherwise hold its caller four timeouts long.
    """
    errors: list[type[Exception]] = [ConnectionError]
    if on_timeout:
        errors.append(TimeoutError)
    return {"retry": Retry(ExponentialBackoff(cap=0.5, base=0.02), 3), "retry_on_error": errors}
