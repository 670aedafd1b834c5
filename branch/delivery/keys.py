"""Every Redis key and channel of the cross-node delivery, with its data type and TTL.

They share the live store's prefix (``stores.live_prefix``, by default
``{branch}:``: one Redis Cluster slot), so a script may touch any of them.

=========================  =======  =======  ==================================================
key (after prefix)         type     TTL      content
=========================  =======  =======  ==================================================
``nodes``                  set      none     ids of the nodes that registered; a node whose
                                             ``alive`` key expired is removed by the first
                                             living node that notices (its reaper)
``node:<id>:alive``        string   timeout  the node's last heartbeat time; refreshed every
                                             heartbeat (a quarter of ``stores.node_timeout_seconds``),
                                             so it expires one timeout after the node stops
``node:<id>:pages``        hash     1 hour   user key -> page value of every page on that
                                             node: what the reaper reads of a dead node;
                                             refreshed every heartbeat, deleted when reaped
``page:<user key>``        string   3 x      page value (``"<node id> <page id>"``) of the
                           timeout           person's one live page; refreshed every heartbeat
``node:<id>``              channel  -        messages for pages on that node (pub/sub)
``changes``                channel  -        the id of a node that changed the floor, at most
                                             once per ``supervision.push_interval_ms`` per
                                             node: every node pushes its wallboards again
``epoch``                  string   none     the live store's (``branch.live.keys``): read by
                                             every heartbeat; a changed one means Redis
                                             restarted empty rather than this node was taken
                                             for dead
=========================  =======  =======  ==================================================

A user key is ``"<role>:<RUN>"``, as in ``branch.people.User.key``.
"""

from __future__ import annotations

from dataclasses import dataclass

from branch.live.keys import DEFAULT_PREFIX, Keys

# A dead node's page table must outlive the timeout until a reaper reads it;
# the hour only bounds what a deployment that lost every node leaves behind.
PAGES_TTL_SECONDS = 3600
# The presence record outlives the node's heartbeat key, so the reaper of a dead
# node still finds the pages it must report as lost.
PRESENCE_TIMEOUTS = 3


@dataclass(frozen=True)
class DeliveryKeys:
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not self.prefix:
            raise ValueError("the delivery's key prefix must not be empty")

    @property
    def nodes(self) -> str:
        return f"{self.prefix}nodes"

    def alive(self, node_id: str) -> str:
        return f"{self.prefix}node:{node_id}:alive"

    def pages(self, node_id: str) -> str:
        return f"{self.prefix}node:{node_id}:pages"

    def page(self, user_key: str) -> str:
        return f"{self.prefix}page:{user_key}"

    @property
    def changes(self) -> str:
        return f"{self.prefix}changes"

    @property
    def epoch(self) -> str:
        return Keys(self.prefix).epoch

    @property
    def channels(self) -> str:
        """What every node's channel name starts with, before the node id."""
        return f"{self.prefix}node:"

    def channel(self, node_id: str) -> str:
        return f"{self.channels}{node_id}"
