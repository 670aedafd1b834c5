"""The one place that picks how messages reach pages: this node only, or every node."""

from __future__ import annotations

import time

from branch.config import Settings
from branch.delivery.base import Delivery
from branch.delivery.keys import DeliveryKeys
from branch.delivery.pubsub import RedisDelivery
from branch.hub import Hub


def open_delivery(settings: Settings) -> Delivery:
    """Redis delivery when the live state is in Redis (several nodes), else this node's hub."""
    # Any other URL is refused by the live store's factory.
    if settings.stores_live.startswith(("redis://", "rediss://", "unix://")):
        return RedisDelivery(
            settings.stores_live,
            node_timeout=float(settings.stores_node_timeout_seconds),
            clock=time.time,
            keys=DeliveryKeys(settings.stores_live_prefix),
            # As often as a wallboard may be pushed: more would be pushes nobody sees.
            change_interval=settings.supervision_push_interval_ms / 1000,
        )
    return Hub()
