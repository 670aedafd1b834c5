"""Every Redis key the live store uses, with its data type, under one prefix.

The prefix lets several deployments or test runs share one server. The
default carries a hash tag (``{branch}``) so every key lands in one Redis
Cluster slot and a script may touch any of them.

=====================  =======  ==========================================================
key (after prefix)     type     content
=====================  =======  ==========================================================
``version``            string   integer bumped by every commit; a step commits only if it
                                is unchanged since the step read the floor
``services``           set      service codes that have somebody waiting
``waiting:<service>``  zset     contact id -> join time: everybody in that line, present or
                                absent (the member breaks ties, as the core's order does)
``present:<service>``  zset     contact id -> join time: only those present, which is what
                                pairing reads from the head of
``absent``             zset     contact id -> absent since: waiting citizens whose page is
                                gone, so the grace check reads only the expired ones
``entries``            hash     contact id -> Waiting (JSON, see ``codec``)
``citizens``           hash     citizen id -> contact id of their waiting entry
``agents``             hash     executive id -> Agent (JSON)
``calls``              hash     contact id -> Call (JSON): offers and calls under way
``answered``           hash     executive id -> ``[local day, count]`` (JSON) for the
                                fewest_contacts strategy
``cursor``             string   the round_robin cursor: the last executive offered
``handle:<service>``   list     recent handle times in seconds, newest first, capped
``epoch``              string   a random id set by the first node to find it missing: when
                                it changes, Redis lost everything (restarted empty); a
                                commit is refused unless it is the one its step read
``notice:<service>``   string   the supervisor's current message to those waiting in that
                                service (Notice, JSON), expiring (TTL) when it runs out
``commit:<token>``     string   the version one commit landed as, kept a minute (TTL) so a
                                commit repeated after its reply was lost is not run twice
``commits``            channel  every landed commit that is the last one, as the new
                                version and its change list (``branch.live.follow``), when
                                more than the committing node listen (pub/sub)
=====================  =======  ==========================================================

Apart from the commit tokens and the notices, none of these keys belongs to one connection: the floor outlives any node, and a
citizen's place is kept across reconnections on purpose (the grace period is the
floor's own rule, applied by ``tick``). Per-node presence keys, which do expire,
belong to the cross-node delivery and are not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

DEFAULT_PREFIX = "{branch}:"


@dataclass(frozen=True)
class Keys:
    # The fixed names are made once per store, not formatted again on every step.

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not self.prefix:
            raise ValueError("the live store's key prefix must not be empty")

    @cached_property
    def version(self) -> str:
        return f"{self.prefix}version"

    @cached_property
    def services(self) -> str:
        return f"{self.prefix}services"

    def waiting(self, service: str) -> str:
        return f"{self.prefix}waiting:{service}"

    def present(self, service: str) -> str:
        return f"{self.prefix}present:{service}"

    @cached_property
    def absent(self) -> str:
        return f"{self.prefix}absent"

    @cached_property
    def entries(self) -> str:
        return f"{self.prefix}entries"

    @cached_property
    def citizens(self) -> str:
        return f"{self.prefix}citizens"

    @cached_property
    def agents(self) -> str:
        return f"{self.prefix}agents"

    @cached_property
    def calls(self) -> str:
        return f"{self.prefix}calls"

    @cached_property
    def answered(self) -> str:
        return f"{self.prefix}answered"

    @cached_property
    def cursor(self) -> str:
        return f"{self.prefix}cursor"

    @cached_property
    def epoch(self) -> str:
        return f"{self.prefix}epoch"

    @cached_property
    def commits(self) -> str:
        return f"{self.prefix}commits"

    def commit(self, token: str) -> str:
        return f"{self.prefix}commit:{token}"

    def notice(self, service: str) -> str:
        return f"{self.prefix}notice:{service}"

    def handle_times(self, service: str) -> str:
        return f"{self.prefix}handle:{service}"
