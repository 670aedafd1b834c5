"""Live state in Redis, shared by every node of a deployment.

Each command runs the very same core step as the memory store on a snapshot of
the part of the floor it needs, and commits what changed with one Lua script
that refuses the write if another node committed since that snapshot; then the
step is run again on the fresh floor. Pairing happens inside the step, so two
nodes can never commit two offers of one citizen or two offers to one
executive. Time comes from the caller; the Redis clock is never read.

The snapshot is the one the node's last commit brought back (``lua/step.lua``
commits and then reads the floor it left, in one round trip, sending back only
what the node's own floor does not hold when that commit is still the last
one), when it holds what the step wants; otherwise it is read first (``snapshot.load``). So a step
no other node raced costs one round trip, and one that lost a race two, the
fresh snapshot coming back with the refusal. A step is trusted on a kept
snapshot only once its commit lands: one that changes nothing or is refused
by the core (an error for the person) is run again on a fresh read, so an old
snapshot can neither hide a change nor turn a request down.

Another node's commit makes the kept snapshot old, unless this node follows
it: each landed commit is announced to the other nodes (``feed``), which bring
their kept snapshots up to it (``follow``), so a node steps in one round trip
after another node's commit too, when the announcement came first.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from branch.config import without_password
from branch.core.floor import AgentState, Call, Event, Floor, FloorRules, Waiting
from branch.errors import BranchError, LiveBusy, StoreUnreachable
from branch.live.base import Skills
from branch.live.epoch import current_epoch
from branch.live.feed import CommitFeed
from branch.live.follow import follow, parse
from branch.live.keys import DEFAULT_PREFIX, Keys
from branch.live.redis_handle_times import HandleTimes
from branch.live.redis_notices import Notices
from branch.live.redis_queries import FloorQueries
from branch.live.script_connection import ScriptConnection
from branch.live.scripts import READ_SCRIPT, STEP_SCRIPT
from branch.live.snapshot import (
    Snapshot,
    Wants,
    changes,
    heads,
    landed_reply,
    load,
    read_reply,
    read_request,
)
from branch.redis_packing import packed
from branch.redis_retry import retrying_options

COMMIT_ATTEMPTS = 50
# What the executives' steps read, and what every step that names no citizen reads back:
# the heads of the lines (one object, not one made per step).
HEADS = Wants()

log = logging.getLogger(__name__)


class RedisLiveStore(FloorQueries, Notices, HandleTimes):
    """Commands run as core steps here; read-only queries, notices, handle times are its parts."""

    def __init__(self, url: str, rules: FloorRules, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = url
        self.rules = rules
        self.keys = Keys(prefix)
        self._redis: Redis | None = None
        self.conflicts = 0  # commits refused because another node committed first
        self._epoch: str | None = None
        self._services: set[str] = set()  # lines seen so far, whose heads a read names
        # The read back of HEADS for that many lines seen (see ``_read_back``).
        self._heads_read: tuple[int, list[str], list[str | int]] | None = None
        # The floor as this node's last read or commit left it, and what that read held.
        self._kept: tuple[Snapshot, Wants] | None = None
        self._feed = CommitFeed(url, self.keys.commits, self._told)
        self.followed = 0  # other nodes' commits the kept snapshot was brought up to

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("the Redis live store is not open")
        return self._redis

    async def open(self) -> None:
        client = Redis.from_url(
            self.url,
            decode_responses=True,
            socket_connect_timeout=5,
            # A repeated commit is safe: its token makes the script answer as the first time.
            **retrying_options(on_timeout=True),
        )
        pool = client.connection_pool
        pool.connection_class = packed(pool.connection_class)  # before any connection is made
        try:
            await client.ping()
        except (RedisError, OSError) as error:
            await client.aclose()
            raise StoreUnreachable(
                f"stores.live: cannot reach Redis at {without_password(self.url)}: {error}"
            ) from None
        self._redis = client
        # Every step is one call of this script, on a connection of its own.
        self._commit = ScriptConnection(client, STEP_SCRIPT)
        self._read = client.register_script(READ_SCRIPT)
        # Before the first step: the script announces only when more than its node listen.
        await self._feed.open()
        await self.restarted()

    async def close(self) -> None:
        await self._feed.close()
        if self._redis is not None:
            await self._commit.close()
            await self._redis.aclose()
            self._redis = None

    async def _step(self, wants: Wants, run: Callable[[Floor], list[Event]]) -> list[Event]:
        """Run one core step on the kept or a fresh snapshot until its commit is the next one."""
        if self._redis is None:
            # Closed: the read script's client would quietly connect again, and stay open.
            raise RuntimeError("the Redis live store is not open")
        # What the commit reads back: this step's citizens and the heads of the lines,
        # which most steps want (those that want more read first).
        after = Wants(citizens=wants.citizens) if wants.citizens else HEADS
        snapshot = self._kept_for(wants)
        kept = snapshot is not None
        for attempt in range(COMMIT_ATTEMPTS):
            if snapshot is None:
                snapshot, kept = await load(self._read, self.keys, wants, self._services), False
                if snapshot.epoch:
                    self._keep(snapshot, wants)
            if not snapshot.epoch:
                # Redis started empty and no node has noticed yet: give this life its id
                # first, so a commit cannot match a version reached again after a restart.
                await self.redis.set(self.keys.epoch, uuid.uuid4().hex, nx=True)
                snapshot = None
                continue
            floor = snapshot.floor(self.rules)
            try:
                events = run(floor)
            except BranchError:
                if not kept:
                    raise
                snapshot = None  # refused on a kept snapshot: ask the floor as it is now
                continue
            # The commit's name needs only to be unique: random bytes, no UUID object per step.
            diff = changes(self.keys, snapshot, floor, secrets.token_hex(16))
            if diff.empty:
                if not kept:
                    return events
                snapshot = None  # nothing to commit proves nothing about a kept snapshot
                continue
            commit_keys, commit_argv = diff.finish()
            held = [entry.contact_id for entry in floor.waiting]
            # A line this step opens is named already, so the read back holds its heads.
            self._services.update(entry.service for entry in floor.waiting)
            read_keys, read_argv = self._read_back(after)
            commit_keys += read_keys
            landed, reply, last = await self._commit(
                keys=commit_keys,
                args=[
                    len(commit_keys) - len(read_keys),
                    len(commit_argv),
                    len(held),
                    heads(floor.agents),
                    self.keys.commits,
                    *commit_argv,
                    *read_argv,
                    *held,
                ],
            )
            overtaken = kept  # the refusal only says another node committed since
            if last:  # this commit is the last one: the floor in Redis is this step's
                read_back = landed_reply(reply, floor, landed, snapshot.epoch, self._services)
            else:
                read_back = read_reply(reply, self._services)
            snapshot, kept = read_back, False
            if snapshot is not None and snapshot.epoch:
                self._keep(snapshot, after)
            else:
                self._kept = None  # what was kept is older than this commit
            if landed != -1:
                return events
            if not after.covers(wants):
                snapshot = None  # tick and closing a line read more than comes back
            self.conflicts += 1
            if not overtaken:
                # Another node committed between this step's read and its commit: spread
                # the retries so they do not collide again. A kept snapshot that another
                # node's earlier commit made old is no collision: the fresh floor is here.
                await asyncio.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.05)))
        raise LiveBusy()

    def _read_back(self, after: Wants) -> tuple[list[str], list[str | int]]:
        """The read of ``after`` that a commit brings back, as ``read_request`` gives it.

        The executives' steps, pairing among them, all read back the heads alone:
        that request is made again only when a line became known (lines are only
        ever added to ``_services``).
        """
        if after is not HEADS:
            return read_request(self.keys, after, self._services)
        known = len(self._services)
        if self._heads_read is None or self._heads_read[0] != known:
            self._heads_read = (known, *read_request(self.keys, HEADS, self._services))
        return self._heads_read[1], self._heads_read[2]

    def _kept_for(self, wants: Wants) -> Snapshot | None:
        if self._kept is None:
            return None
        snapshot, held = self._kept
        return snapshot if held.covers(wants) else None

    def _keep(self, snapshot: Snapshot, wants: Wants) -> None:
        # Steps of one node can overlap: an older read never replaces a newer one of
        # the same Redis life (after a restart the versions count from 0 again).
        held = self._kept[0] if self._kept is not None else None
        if held is None or held.epoch != snapshot.epoch or held.version <= snapshot.version:
            self._kept = (snapshot, wants)

    def _told(self, text: str) -> None:
        """Another node's commit (or this one's): bring the kept snapshot up to it if it can."""
        try:
            told = parse(text)
            self._services.update(told.services(self.keys))
            if self._kept is None:
                return
            kept, wants = self._kept
            after = follow(self.keys, kept, wants, told)
        except ValueError as error:
            log.warning("%s", error)  # another version of the branch, or not the branch
            return
        if after is not None:
            self._kept = (after, Wants(citizens=wants.citizens, heads=wants.heads))
            self.followed += 1

    def _citizen(self, citizen_id: str) -> Wants:
        return Wants(citizens=(citizen_id,))

    # ------------------------------------------------------------ commands

    async def join(self, entry: Waiting, now: float) -> list[Event]:
        return await self._step(
            self._citizen(entry.citizen_id), lambda floor: floor.join(entry, now)
        )

    async def leave(self, citizen_id: str, now: float) -> list[Event]:
        return await self._step(self._citizen(citizen_id), lambda f: f.leave(citizen_id, now))

    async def citizen_gone(self, citizen_id: str, now: float) -> list[Event]:
        return await self._step(
            self._citizen(citizen_id), lambda f: f.citizen_gone(citizen_id, now)
        )

    async def citizen_away(self, citizen_id: str, now: float) -> list[Event]:
        return await self._step(
            self._citizen(citizen_id), lambda f: f.citizen_away(citizen_id, now)
        )

    async def citizen_back(self, citizen_id: str, now: float) -> list[Event]:
        return await self._step(
            self._citizen(citizen_id), lambda f: f.citizen_back(citizen_id, now)
        )

    async def citizen_ready(self, citizen_id: str, contact_id: str, now: float) -> list[Event]:
        return await self._step(
            self._citizen(citizen_id), lambda f: f.citizen_ready(citizen_id, contact_id, now)
        )

    async def tick(self, now: float) -> list[Event]:
        wants = Wants(
            expired_before=now - self.rules.grace,
            joined_before=tuple(
                (service, now - limit) for service, limit in self.rules.wait_limits
            ),
        )
        return await self._step(wants, lambda floor: floor.tick(now))

    async def agent_available(
        self, agent_id: str, name: str, now: float, skills: Skills | None = None
    ) -> list[Event]:
        return await self._step(HEADS, lambda f: f.agent_available(agent_id, name, now, skills))

    async def agent_not_ready(
        self,
        agent_id: str,
        name: str,
        now: float,
        reason: str | None = None,
        skills: Skills | None = None,
    ) -> list[Event]:
        return await self._step(
            Wants(heads=False), lambda f: f.agent_not_ready(agent_id, name, now, reason, skills)
        )

    async def pause_after_call(
        self, agent_id: str, pending: bool, reason: str | None, now: float
    ) -> list[Event]:
        return await self._step(
            Wants(heads=False), lambda f: f.pause_after_call(agent_id, pending, reason, now)
        )

    async def decline(self, agent_id: str, contact_id: str, reason: str, now: float) -> list[Event]:
        return await self._step(HEADS, lambda f: f.decline(agent_id, contact_id, reason, now))

    async def agent_gone(self, agent_id: str, now: float) -> list[Event]:
        return await self._step(HEADS, lambda f: f.agent_gone(agent_id, now))

    async def agent_away(self, agent_id: str, now: float) -> list[Event]:
        return await self._step(HEADS, lambda f: f.agent_away(agent_id, now))

    async def agent_back(self, agent_id: str, now: float) -> list[Event]:
        return await self._step(HEADS, lambda f: f.agent_back(agent_id, now))

    async def accept(self, agent_id: str, contact_id: str, now: float) -> list[Event]:
        return await self._step(HEADS, lambda f: f.accept(agent_id, contact_id, now))

    async def wrapup_done(
        self, agent_id: str, contact_id: str, then: AgentState, now: float
    ) -> list[Event]:
        return await self._step(HEADS, lambda f: f.wrapup_done(agent_id, contact_id, then, now))

    async def hangup(self, user_id: str, contact_id: str, now: float) -> list[Event]:
        return await self._step(HEADS, lambda f: f.hangup(user_id, contact_id, now))

    async def transfer(
        self, agent_id: str, contact_id: str, to: Waiting, now: float
    ) -> list[Event]:
        return await self._step(
            self._citizen(to.citizen_id), lambda f: f.transfer(agent_id, contact_id, to, now)
        )

    async def audio_only(self, citizen_id: str, contact_id: str, audio_only: bool) -> list[Event]:
        # Calls are read whole; no line is touched.
        return await self._step(
            Wants(heads=False), lambda f: f.audio_only(citizen_id, contact_id, audio_only)
        )

    async def close_queue(self, service: str, now: float) -> list[Event]:
        wants = Wants(whole_service=service, heads=False)
        return await self._step(wants, lambda f: f.close_queue(service, now))

    async def restore_call(
        self, call: Call, side: str, skills: Skills | None, now: float
    ) -> list[Event]:
        return await self._step(
            self._citizen(call.citizen_id), lambda f: f.restore_call(call, side, skills, now)
        )

    async def restore_wrapup(
        self,
        agent_id: str,
        name: str,
        contact_id: str,
        ended_at: float,
        skills: Skills | None,
        now: float,
    ) -> list[Event]:
        return await self._step(
            HEADS,
            lambda f: f.restore_wrapup(agent_id, name, contact_id, ended_at, skills, now),
        )

    # ------------------------------------------------------------ life of Redis

    async def restarted(self) -> bool:
        epoch = await current_epoch(self.redis, self.keys.epoch)
        lost = self._epoch is not None and epoch != self._epoch
        self._epoch = epoch
        return lost

    async def ping(self) -> None:
        await self.redis.ping()
