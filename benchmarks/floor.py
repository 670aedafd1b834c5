"""Load clients for the Redis floor and for durable contact records."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import redis.asyncio as aioredis

from benchmarks.calls import _commands, _emit, quantiles
from benchmarks.raw_records import RawRecords
from branch.core.model import EndReason
from branch.records.base import Entry, RecordStore
from branch.records.factory import open_record_store

# Pop the oldest of a sorted set and note who took it in a hash: the shape of an offer.
POP_AND_MARK = """
local popped = redis.call('ZPOPMIN', KEYS[1])
if popped[1] then redis.call('HSET', KEYS[2], popped[1], ARGV[1]) end
return popped[1]
"""


async def redis_floor(args: argparse.Namespace) -> None:
    """Single command round trip, one Lua pop-and-mark, PUBLISH → subscriber."""
    client = aioredis.Redis.from_url(args.redis)
    listener = aioredis.Redis.from_url(args.redis)
    script = client.register_script(POP_AND_MARK)
    pubsub = listener.pubsub()
    await pubsub.subscribe("bench:channel")
    await pubsub.get_message(timeout=5)  # the subscribe confirmation
    _emit({"ready": True})
    async for command in _commands():
        count = command["samples"]
        await client.zadd("bench:line", {f"c{index}": index for index in range(count)})
        ping, lua, publish = [], [], []
        for _ in range(count):
            started = time.perf_counter()
            await client.ping()
            ping.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await script(keys=["bench:line", "bench:taken"], args=["e1"])
            lua.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await client.publish("bench:channel", "x")
            message = None
            while message is None:
                message = await pubsub.get_message(timeout=5, ignore_subscribe_messages=True)
            publish.append((time.perf_counter() - started) * 1000)
        _emit(
            {
                "ping": quantiles(ping)["p50"],
                "lua": quantiles(lua)["p50"],
                "publish": quantiles(publish)["p50"],
            }
        )
    await pubsub.aclose()  # type: ignore[no-untyped-call]
    await listener.aclose()
    await client.aclose()


async def records(args: argparse.Namespace) -> None:
    """Whole contacts (every step and its audit entry) written with durability on."""
    store = open_record_store(args.records)
    await store.open()
    raw: dict[int, RawRecords] = {}  # by writers: the floor, opened when first asked for
    _emit({"ready": True})
    async for command in _commands():
        count, parallel = command["contacts"], command.get("parallel", 10)
        if command.get("raw"):
            if parallel not in raw:
                raw[parallel] = RawRecords(args.records, parallel)
                await raw[parallel].open()
            seconds = await raw[parallel].round(count)
        else:
            started = time.perf_counter()
            await asyncio.gather(*(_contacts(store, count // parallel) for _ in range(parallel)))
            seconds = time.perf_counter() - started
        _emit({"contacts": count // parallel * parallel, "seconds": seconds})
    for floor in raw.values():
        await floor.close()
    await store.close()


async def _contacts(records: RecordStore, count: int) -> None:
    """As the branch writes them: five steps, each with its audit entry, each awaited."""
    executive, citizen = "20.000.000-3", "30.000.000-K"
    for _ in range(count):
        contact = uuid.uuid4().hex
        at = time.time()
        joined = Entry("contact.joined", f"citizen:{citizen}", {"service": "general"})
        await records.contact_joined(
            contact, "general", citizen, "Carga", "otro", "", at, entry=joined
        )
        offered = Entry("contact.offered", "system", {"executive": executive})
        await records.contact_offered(contact, executive, "Ejecutivo", at + 1, entry=offered)
        answered = Entry("contact.answered", f"executive:{executive}")
        await records.contact_answered(contact, at + 2, entry=answered)
        ended = Entry("contact.ended", "system", {"reason": "completed", "by": "executive"})
        await records.contact_ended(contact, EndReason.COMPLETED, at + 60, entry=ended)
        wrapped = Entry("contact.wrapped_up", f"executive:{executive}", {"outcome": "resuelto"})
        await records.contact_wrapped_up(
            contact, executive, "resuelto", "otro", "", at + 90, entry=wrapped
        )
