"""The benchmark harness in its seconds-long smoke size, so `make bench` cannot rot.

It starts the real servers (the branch, the raw relay, PeerJS) and load
clients as separate processes, as `make bench` does, and checks the table
and the JSON it writes; the figures themselves are not judged here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import room
from benchmarks.__main__ import main
from benchmarks.calls import SETUP_STEPS
from benchmarks.harness import Row, alternate, median, percentile, table
from benchmarks.room import PAGES_PER_WORKER, shares


def test_smoke_run_writes_the_table_and_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "bench.json"
    assert main(["--size", "smoke", "--only", "relay,records", "--json", str(output)]) == 0
    document = json.loads(output.read_text())
    assert document["failures"] == {}
    assert document["environment"]["cpus"] >= 1
    assert document["environment"]["peer"] != "missing"
    rows = {(row["metric"], row["baseline_name"]): row for row in document["rows"]}
    assert set(rows) == {
        ("msgs_per_s", "raw"),
        ("msgs_per_s", "peerjs"),
        ("cpu_us_per_msg", "raw"),
        ("cpu_us_per_msg", "peerjs"),
        ("server_cores", "raw"),
        ("server_cores", "peerjs"),
        ("client_us_per_msg", "raw"),
        ("client_us_per_msg", "peerjs"),
        ("contacts_per_s", ""),
    }
    # CPU is read in clock ticks: a smoke round may use less than one.
    from_ticks = {"cpu_us_per_msg", "server_cores", "client_us_per_msg"}
    for row in rows.values():
        assert row["branch"] > 0 if row["metric"] not in from_ticks else row["branch"] >= 0
        assert row["rounds"] == 1
    assert rows[("msgs_per_s", "peerjs")]["target"] == "≥ 1.0x PeerJS"
    # Each store at a busy node's concurrency (capped by the smoke size's 50) and at 10.
    # Beside each, its floor: the plain driver writing the same steps, measured in turn.
    records = [row for row in document["rows"] if row["unit"] == "contacts/s"]
    assert [row["scenario"] for row in records] == [
        scenario
        for store in ("SQLite WAL, synchronous=FULL", "PostgreSQL")
        for writers in (50, 10)
        for scenario in (
            f"6 records, {store}, {writers} writers (5 steps, each with its audit entry)",
            f"6 records floor, {store}, {writers} writers: the plain driver, "
            "5 autocommitted statements each, no trail",
        )
    ]
    assert [(row["target"], row["met"] is None) for row in records[:2]] == [
        ("≥ 1,000/s", False),
        ("context", True),
    ]
    assert all(row["samples"] and min(next(iter(row["samples"].values()))) > 0 for row in records)
    printed = capsys.readouterr().out
    assert "| 1 relay (2 calls, 2 KB) | msgs_per_s (msg/s) |" in printed
    assert f"JSON written to {output}" in printed


def test_smoke_run_of_pairing_call_setup_steps_and_cross_node(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    only = "pairing,setup,crossnode"
    assert main(["--size", "smoke", "--only", only, "--json", str(output)]) == 0
    document = json.loads(output.read_text())
    assert document["failures"] == {}
    rows = {(row["scenario"], row["metric"]): row for row in document["rows"]}
    steps = [row for (scenario, _), row in rows.items() if scenario == "4 call setup, step by step"]
    assert [row["metric"] for row in steps] == [label for _, label in SETUP_STEPS]
    # Only the branch has a call.started; every later step has the direct peers beside it.
    assert steps[0]["baseline"] is None
    assert all(row["branch"] > 0 and row["baseline"] > 0 for row in steps[1:])
    for what in ("pairing", "relay, 2 KB message one way"):
        scenario = f"5 cross-node: {what}"
        p50 = rows[(scenario, "p50")]
        assert p50["baseline_name"] == "one node"
        assert p50["branch"] > 0 and p50["baseline"] > 0
        added = rows[(scenario, "p50_added")]
        rounds = zip(p50["samples"]["two nodes"], p50["samples"]["one node"], strict=True)
        assert added["branch"] == pytest.approx(median([two - one for two, one in rounds]))
        assert added["target"] == "≤ +1 ms"
        assert added["met"] == (added["branch"] <= 1.0)
        assert rows[(scenario, "p99")]["branch"] >= p50["branch"]
    memory = rows[("3 pairing, memory live store, no readiness check", "p50")]
    assert memory["target"] == "≤ 2x" and memory["baseline_name"] == "ws+redis RTT"
    # The least a Redis store could take, round by round: its memory pairing plus the
    # floor's own PING, a part of that floor.
    least = rows[
        (
            "3 pairing, the least a Redis store can take: the memory pairing plus one Redis PING",
            "p50",
        )
    ]
    assert (least["target"], least["met"]) == ("context", None)
    assert least["baseline"] == memory["baseline"]
    pings = [
        least_round - memory_round
        for least_round, memory_round in zip(
            least["samples"]["least"], memory["samples"]["branch"], strict=True
        )
    ]
    floors = memory["samples"]["ws+redis RTT"]
    assert all(0 < ping < floor for ping, floor in zip(pings, floors, strict=True))


def test_rounds_alternate_and_flip_order() -> None:
    seen: list[tuple[str, int]] = []

    def measure(name: str, index: int) -> dict[str, float]:
        seen.append((name, index))
        return {"value": float(index)}

    results = alternate(["branch", "raw"], 3, measure)
    assert seen == [("branch", 0), ("raw", 0), ("raw", 1), ("branch", 1), ("branch", 2), ("raw", 2)]
    assert results == {"branch": {"value": [0.0, 1.0, 2.0]}, "raw": {"value": [0.0, 1.0, 2.0]}}


def test_ratio_target_and_table() -> None:
    row = Row("1 relay", "msgs_per_s", "msg/s", 900.0, "raw", 1000.0, "≥ 0.8x raw", "higher", 0.8)
    assert row.ratio == pytest.approx(0.9)
    assert row.met is True
    slow = Row("3 pairing", "p50", "ms", 5.0, "floor", 2.0, "≤ 2x", "lower", 2.0)
    assert slow.met is False
    assert table([row, slow]).splitlines()[2:] == [
        "| 1 relay | msgs_per_s (msg/s) | 900 | raw | 1,000 | 0.90x | ≥ 0.8x raw | **yes** |",
        "| 3 pairing | p50 (ms) | 5.00 | floor | 2.00 | 2.50x | ≤ 2x | **no** |",
    ]


def test_percentile_is_nearest_rank() -> None:
    values = [float(value) for value in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([7.0], 0.99) == 7.0


def test_the_waiting_room_is_spread_over_workers() -> None:
    assert shares(20) == [(0, 20)]
    assert shares(PAGES_PER_WORKER) == [(0, PAGES_PER_WORKER)]
    assert shares(10_000) == [(0, 2500), (2500, 2500), (5000, 2500), (7500, 2500)]
    room = shares(3_001)
    assert [size for _, size in room] == [1500, 1501]
    assert [first for first, _ in room] == [0, 1500]


def test_smoke_run_of_the_waiting_room_over_two_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten pages a worker: the smoke size's twenty citizens in two processes, as a
    # full room is spread, and their samples merged.
    monkeypatch.setattr(room, "PAGES_PER_WORKER", 10)
    output = tmp_path / "bench.json"
    assert main(["--size", "smoke", "--only", "waiting", "--json", str(output)]) == 0
    document = json.loads(output.read_text())
    assert document["failures"] == {}
    rows = {(row["metric"], row["baseline_name"]): row for row in document["rows"]}
    stale = rows[("position_staleness_p99", "")]
    assert stale["note"].endswith(", 2 citizen workers")
    taken = int(stale["note"].split()[0])
    assert taken >= 1
    # Every take is a page-take for each of the twenty pages still behind it.
    pairs = int(stale["note"].split(" over ")[1].split()[0].replace(",", ""))
    assert 0 < pairs <= 20 * taken
    assert stale["branch"] >= rows[("position_staleness_p50", "")]["branch"] >= 0
    assert rows[("login_and_join_all", "raw connect")]["baseline"] > 0
    assert rows[("rss_per_waiting", "raw")]["branch"] > 0
