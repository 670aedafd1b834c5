"""``python -m benchmarks`` (what `make bench` runs): the scenarios, a table, a JSON file."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import nodes, room, scenarios
from benchmarks.harness import BenchError, Row, describe, environment, table

SCENARIOS: dict[str, Callable[[scenarios.Context], list[Row]]] = {
    "relay": scenarios.relay,
    "waiting": room.waiting_room,
    "pairing": scenarios.pairing,
    "setup": scenarios.call_setup,
    "crossnode": nodes.crossnode,
    "records": scenarios.records,
    "startup": scenarios.startup,
    "floor": room.redis_floor,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", choices=sorted(scenarios.SIZES), default="full")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma-separated of {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--json", default="test-artifacts/bench.json", help="where the JSON goes")
    parser.add_argument("--waiting", type=int, help="waiting citizens in the waiting room")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    sizes = scenarios.SIZES[args.size]
    if args.waiting:
        sizes = scenarios.Sizes(**{**sizes.__dict__, "waiting": args.waiting})
    env = environment()
    print(describe(env), flush=True)
    rows: list[Row] = []
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="branch-bench-") as folder:
        context = scenarios.Context(Path(folder), sizes)
        for name in chosen:
            started = time.monotonic()
            print(f"… {name}", flush=True)
            try:
                found = SCENARIOS[name](context)
            except BenchError as error:
                failures[name] = str(error)
                print(f"FAILED {name}: {error}", file=sys.stderr, flush=True)
                continue
            rows += found
            print(table(found), flush=True)
            print(f"  ({time.monotonic() - started:.1f} s)", flush=True)
    print("\n" + table(rows), flush=True)
    output = Path(args.json)
    output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "environment": env,
        "size": args.size,
        "sizes": sizes.__dict__,
        "rows": [row.to_json() for row in rows],
        "failures": failures,
    }
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"JSON written to {output}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
