"""The audit trail: appended once per event, chained, and every tampering detected."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
from pathlib import Path

import pytest

from branch import schema
from branch.audit import GENESIS, Broken, chained, erased, new_entry, verify
from branch.cli import main
from branch.config import load_settings
from branch.hub import Hub
from branch.live.memory import MemoryLiveStore
from branch.records.base import EndReason, RecordStore
from branch.records.factory import open_record_store
from branch.records.sqlite import SqliteRecordStore
from branch.service import BranchService
from branch.web.app import RECORDS
from branch.web.client import BranchClient
from tests.conftest import CITIZEN_RUN, StartBranch
from tests.records.conftest import OpenStore, execute_sql
from tests.test_service import ANA, EXE, page_for


async def filled(records: RecordStore, count: int = 5) -> None:
    for index in range(count):
        await records.audit("test.event", "system", None, f"e{index}", {"n": index}, 100.0 + index)


async def test_appending_is_chained_and_idempotent(open_store: OpenStore) -> None:
    records = await open_store()
    await filled(records)
    assert await records.audit("test.event", "system", None, "e2", {"n": 2}, 102.0) is None
    entries = await records.audit_entries()
    assert [entry.seq for entry in entries] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert verify(entries) is None


async def test_concurrent_writers_share_the_connection_safely(open_store: OpenStore) -> None:
    """Two logins at once audit at once: each write waits for the other's transaction."""
    records = await open_store()
    await asyncio.gather(
        *(
            records.audit("test.event", "system", None, f"e{index}", {"n": index}, 100.0 + index)
            for index in range(8)
        ),
        *(
            records.contact_joined(f"c{index}", "general", CITIZEN_RUN, "Ana", "r", "", 100.0)
            for index in range(4)
        ),
    )
    entries = await records.audit_entries()
    assert sorted(entry.event_id for entry in entries) == [f"e{index}" for index in range(8)]
    assert verify(entries) is None
    joined = [await records.get(f"c{index}") for index in range(4)]
    assert len({record.folio for record in joined if record is not None}) == 4


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        ("UPDATE audit_log SET data = '{\"n\": 99}' WHERE seq = 3", 3, "edited"),
        ("UPDATE audit_log SET actor = 'executive:1-9' WHERE seq = 2", 2, "edited"),
        ("DELETE FROM audit_log WHERE seq = 3", 4, "expected entry 3, found 4"),
        # Reorder: swap the contents of entries 2 and 3.
        (
            "UPDATE audit_log SET seq = 100 WHERE seq = 2; "
            "UPDATE audit_log SET seq = 2 WHERE seq = 3; "
            "UPDATE audit_log SET seq = 3 WHERE seq = 100",
            2,
            "does not link",
        ),
        # Insert: a forged entry with a made-up hash between 3 and 4 (renumbering the rest).
        (
            "UPDATE audit_log SET seq = seq + 10 WHERE seq >= 4; "
            "UPDATE audit_log SET seq = seq - 9 WHERE seq >= 14; "
            "INSERT INTO audit_log (seq, at, kind, actor, contact_id, event_id, data, "
            "prev_hash, hash) VALUES (4, 103.5, 'test.event', 'system', NULL, 'forged', "
            "'{}', 'x', 'y')",
            4,
            "does not link",
        ),
    ],
)
async def test_every_kind_of_tampering_is_found(
    records_url: str, open_store: OpenStore, tamper: str, seq: int, reason: str
) -> None:
    await filled(await open_store())
    await execute_sql(records_url, tamper)
    broken = verify(await (await open_store()).audit_entries())
    assert broken is not None and broken.seq == seq and reason in broken.reason


async def test_cutting_the_end_is_found_against_a_recorded_head(open_store: OpenStore) -> None:
    records = await open_store()
    await filled(records)
    entries = await records.audit_entries()
    head = (entries[-1].seq, entries[-1].hash)
    assert verify(entries, head) is None
    broken = verify(entries[:3], head)
    assert broken is not None and "ends at 3, before the recorded head 5" in broken.reason
    assert verify(entries, (5, "0" * 64)) is not None  # the head itself was replaced


async def test_a_contact_leaves_its_whole_story_in_the_trail(
    open_store: OpenStore, hub: Hub
) -> None:
    records = await open_store()
    settings = load_settings({}, service_readiness_seconds=0)
    service = BranchService(settings, MemoryLiveStore(settings.floor_rules), records, hub)
    ana = await page_for(service, hub, ANA)
    await page_for(service, hub, EXE)
    await service.handle(ANA, schema.QueueJoin(reason="otro"))
    contact_id = ana.last("queue.joined")["contactId"]
    await service.handle(EXE, schema.AgentAvailable())
    await service.handle(EXE, schema.OfferAccept(contact_id=contact_id))
    await service.handle(ANA, schema.CallHangup(contact_id=contact_id))
    await service.handle(
        EXE, schema.WrapupSubmit(contact_id=contact_id, outcome="resuelto", reason="otro")
    )
    await service.handle(ANA, schema.SurveySubmit(contact_id=contact_id, score=5))
    story = await records.audit_entries(contact_id)
    assert [entry.kind for entry in story] == [
        "contact.joined",
        "contact.offered",
        "contact.answered",
        "contact.ended",
        "contact.wrapped_up",
        "contact.surveyed",
    ]
    assert story[0].actor == ANA.key and story[2].actor == EXE.key
    assert verify(await records.audit_entries()) is None


def test_the_cli_verifies_and_prints_the_head(
    tmp_path: Path, records_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> str:
        store = open_record_store(records_url)
        await store.open()
        await filled(store)
        head = (await store.audit_entries())[-1]
        await store.close()
        return head.hash

    digest = asyncio.run(prepare())
    (tmp_path / "branch.toml").write_text(
        f'data_dir = "{tmp_path}"\n[stores]\nrecords = "{records_url}"\n', encoding="utf-8"
    )
    config = ["--config", str(tmp_path / "branch.toml")]
    assert main([*config, "audit", "head"]) == 0
    assert capsys.readouterr().out.strip() == f"5 {digest}"
    assert main([*config, "audit", "verify", "--head", f"5:{digest}"]) == 0
    assert "verifies: 5 entries" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main([*config, "audit", "verify", "--head", "cinco"])
    assert refused.value.code == 2
    assert capsys.readouterr().err.endswith(
        "argument --head: 'cinco' is not SEQ:HASH as `branch audit head` prints\n"
    )
    asyncio.run(execute_sql(records_url, "UPDATE audit_log SET kind = 'x' WHERE seq = 4"))
    assert main([*config, "audit", "verify"]) == 1
    assert "BROKEN at entry 4" in capsys.readouterr().out


async def test_logins_and_logouts_are_in_the_trail(start_branch: StartBranch) -> None:
    node = await start_branch()
    async with BranchClient(node.url, ca_file=node.ca_path) as ana:
        await ana.login(CITIZEN_RUN, "Ana", "Rojas", "/citizen")
        await ana.logout()
    entries = await node.app[RECORDS].audit_entries()
    assert [(entry.kind, entry.actor) for entry in entries] == [
        ("login", f"citizen:{CITIZEN_RUN}"),
        ("logout", f"citizen:{CITIZEN_RUN}"),
    ]


async def sealed_trail(store: RecordStore) -> None:
    for index in range(4):
        await store.audit("login", f"citizen:{CITIZEN_RUN}", None, f"l{index}", {}, 100.0 + index)


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        # Someone else's RUN put in a sealed entry: the seal no longer matches.
        (
            "UPDATE audit_log SET actor = 'citizen:11.111.111-1' WHERE seq = 2",
            2,
            "its person does not match its seal (edited)",
        ),
        # Personal data erased by hand, with no purge entry accounting for it.
        (
            "UPDATE audit_log SET actor = 'citizen', salt = '' WHERE seq = 3",
            3,
            "personal data erased without a purge recording it in the trail",
        ),
        # A sealed entry passed off as a staff one.
        (
            "UPDATE audit_log SET actor = 'executive:11.111.111-1', salt = '', seal = '' "
            "WHERE seq = 1",
            1,
            "its content does not match its hash (edited)",
        ),
    ],
)
async def test_tampering_with_sealed_identities_is_found(
    records_url: str, open_store: OpenStore, tamper: str, seq: int, reason: str
) -> None:
    await sealed_trail(await open_store())
    await execute_sql(records_url, tamper)
    broken = verify(await (await open_store()).audit_entries())
    assert broken == Broken(seq, reason)


def test_a_seal_hides_the_person_and_unsealed_entries_hash_as_before() -> None:
    one = chained(None, new_entry(1.0, "login", f"citizen:{CITIZEN_RUN}", None, "l1", {}))
    two = chained(None, new_entry(1.0, "login", f"citizen:{CITIZEN_RUN}", None, "l1", {}))
    assert one.seal != two.seal and CITIZEN_RUN not in one.seal  # salted: no RUN guessing
    assert erased(one).hash == one.hash and erased(one).actor == "citizen"
    staff = chained(None, new_entry(1.0, "login", "executive:11.111.111-1", None, "l2", {"a": 1}))
    assert (staff.salt, staff.seal) == ("", "")
    legacy = json.dumps(
        [GENESIS, 1, "1.0", "login", "executive:11.111.111-1", None, "l2", {"a": 1}],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert staff.hash == hashlib.sha256(legacy.encode()).hexdigest()


def test_the_cli_purges_past_the_retention_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        store = SqliteRecordStore(tmp_path / "records.sqlite3")
        await store.open()
        await store.contact_joined("c1", "general", CITIZEN_RUN, "Ana Rojas", "otro", "", 1000.0)
        await store.audit("contact.joined", f"citizen:{CITIZEN_RUN}", "c1", "j1", {}, 1000.0)
        await store.contact_ended("c1", EndReason.CITIZEN_LEFT, 1010.0)
        await store.close()

    asyncio.run(prepare())
    (tmp_path / "branch.toml").write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    config = ["--config", str(tmp_path / "branch.toml")]
    assert main([*config, "purge"]) == 2
    assert capsys.readouterr().err == (
        "branch: configuration error: retention.days: 0 keeps personal data; "
        "set the retention period or pass --days\n"
    )
    assert main([*config, "purge", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"personal data of contacts closed before \d{4}-\d\d-\d\d \d\d:\d\d UTC: "
        r"1 contacts and 1 audit entries erased \(audit entry 2\)\n",
        out,
    ), out
    assert main([*config, "purge", "--days", "30"]) == 0
    assert capsys.readouterr().out.endswith(": 0 contacts and 0 audit entries erased\n")
    assert main([*config, "audit", "verify"]) == 0
    assert capsys.readouterr().out.endswith(" (1 with personal data erased by retention purges)\n")
