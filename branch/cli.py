"""The `branch` command: serve, certs, probe, records, report, audit, purge."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from branch.config import Settings, load_settings
from branch.errors import ConfigError, StoreUnreachable


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    return load_settings(os.environ, getattr(args, "config", None), **overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    from branch.tls import create_certificates, lan_addresses
    from branch.web.app import run_server

    settings = _settings(
        args, mode="development" if args.dev else None, host=args.host, port=args.port
    )
    if settings.tls and not settings.cert_path.exists():
        if not settings.development:
            raise ConfigError(
                f"tls_cert: {settings.cert_path} does not exist (run `branch certs` or set tls_cert)"
            )
        create_certificates(Path(settings.certs_dir))
        print(f"Created development certificates in {settings.certs_dir}/", flush=True)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    if settings.log_format == "json":
        from branch.logs import use_json_logs

        use_json_logs(logging.DEBUG if args.verbose else logging.INFO)

    def ready() -> None:
        # Only once the stores answered and the port is bound: an address printed by a
        # node that then fails would send people to nothing.
        print(f"{settings.service_name} abierta en {settings.base_url}", flush=True)
        if settings.host in ("0.0.0.0", "::"):
            scheme = "https" if settings.tls else "http"
            for address in lan_addresses():
                print(f"  en la red local: {scheme}://{address}:{settings.port}", flush=True)
        if settings.oidc_dev_login:
            print("  modo desarrollo: ingreso simulado de ClaveÚnica activo", flush=True)

    run_server(settings, ready)
    return 0


def cmd_certs(args: argparse.Namespace) -> int:
    from branch.tls import certificate_hosts, create_certificates

    settings = _settings(args)
    paths = create_certificates(Path(settings.certs_dir), list(args.host or []))
    print(
        f"CA certificate:     {paths.ca_cert}  (install it on phones and browsers to trust the branch)"
    )
    print(f"Server certificate: {paths.server_cert}")
    print(f"Server key:         {paths.server_key}")
    print(f"Valid for: {', '.join(certificate_hosts(paths.server_cert))}")
    return 0


def cmd_records(args: argparse.Namespace) -> int:
    from branch.records.factory import open_record_store
    from branch.records.text import format_contacts

    settings = _settings(args)

    async def show() -> int:
        store = open_record_store(settings.records_url)
        await store.open()
        try:
            records = await store.recent(args.limit)
            # Reading records is a staff access like any other: it goes in the trail.
            await store.audit(
                "records.read",
                "cli",
                None,
                f"records.read:{uuid.uuid4().hex}",
                {"limit": args.limit, "count": len(records)},
                time.time(),
            )
        finally:
            await store.close()
        if args.json:
            print(
                json.dumps([record.to_dict() for record in records], ensure_ascii=False, indent=2)
            )
        else:
            print(format_contacts(records))
        return 0

    return asyncio.run(show())


def cmd_report(args: argparse.Namespace) -> int:
    import datetime
    import getpass
    import time
    from zoneinfo import ZoneInfo

    from branch.errors import BadReportQuery
    from branch.records.factory import open_record_store
    from branch.reports import (
        ReportQuery,
        audit_report,
        build_report,
        report_csv,
        report_document,
        report_text,
    )

    settings = _settings(args)
    today = datetime.datetime.now(ZoneInfo(settings.service_timezone)).date()
    try:
        query = ReportQuery.parse(
            settings, today, args.first, args.last, args.service, args.executive
        )
    except BadReportQuery as error:
        print(f"branch report: {error.message}", file=sys.stderr)
        return 2
    form = "json" if args.json else "csv" if args.csv else "text"
    try:
        actor = f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        actor = "cli:unknown"

    async def run() -> str:
        store = open_record_store(settings.records_url)
        await store.open()
        try:
            report = await build_report(store, settings, query)
            await audit_report(store, "report.exported", actor, query, form, time.time())
        finally:
            await store.close()
        if form == "json":
            document = report_document(report, query, settings)
            return json.dumps(document, ensure_ascii=False, indent=2)
        if form == "csv":
            return report_csv(report, settings)
        return report_text(report, query, settings)

    sys.stdout.write(asyncio.run(run()).rstrip("\r\n") + ("\n" if form != "csv" else "\r\n"))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from branch.audit import verify
    from branch.records.factory import open_record_store

    settings = _settings(args)

    async def run() -> int:
        store = open_record_store(settings.records_url)
        await store.open()
        try:
            entries = await store.audit_entries()
        finally:
            await store.close()
        if args.action == "head":
            last = entries[-1] if entries else None
            print(f"{last.seq} {last.hash}" if last else "0 (empty)")
            return 0
        broken = verify(entries, args.head)
        if broken is not None:
            print(f"audit trail BROKEN at entry {broken.seq}: {broken.reason}")
            return 1
        erased = sum(1 for entry in entries if entry.erased)
        print(
            f"audit trail verifies: {len(entries)} entries, head {entries[-1].hash if entries else '-'}"
            + (f" ({erased} with personal data erased by retention purges)" if erased else "")
        )
        return 0

    return asyncio.run(run())


def cmd_purge(args: argparse.Namespace) -> int:
    import datetime

    from branch.records.factory import open_record_store
    from branch.retention import purge_before, purge_expired

    settings = _settings(args)
    days = args.days if args.days is not None else settings.retention_days
    if days <= 0:
        raise ConfigError(
            "retention.days: 0 keeps personal data; set the retention period or pass --days"
        )

    async def run() -> int:
        store = open_record_store(settings.records_url)
        await store.open()
        try:
            now = time.time()
            result = await purge_expired(store, days, now, "cli")
        finally:
            await store.close()
        before = datetime.datetime.fromtimestamp(purge_before(now, days), datetime.UTC)
        print(
            f"personal data of contacts closed before {before:%Y-%m-%d %H:%M} UTC: "
            f"{result.contacts} contacts and {result.entries} audit entries erased"
            + (f" (audit entry {result.entry.seq})" if result.entry else "")
        )
        return 0

    return asyncio.run(run())


def _head(text: str) -> tuple[int, str]:
    from branch.audit import parse_head

    try:
        return parse_head(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_probe(args: argparse.Namespace) -> int:
    from branch.probe import run_probe

    return asyncio.run(
        run_probe(
            args.url,
            executive_url=args.executive_url,
            insecure=args.insecure,
            ca_file=args.ca,
            citizen_run=args.citizen_run,
            executive_run=args.executive_run,
            timeout=args.timeout,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="branch", description="The virtual branch.")
    parser.add_argument("--config", help="TOML settings file (default: $BRANCH_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the branch")
    serve.add_argument(
        "--dev", action="store_true", help="development mode with the built-in login"
    )
    serve.add_argument("--host", help="address to listen on (BRANCH_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (BRANCH_PORT)")
    serve.set_defaults(handler=cmd_serve)

    certs = commands.add_parser("certs", help="create a local CA and a server certificate")
    certs.add_argument(
        "--host", action="append", help="another name or address for the certificate"
    )
    certs.set_defaults(handler=cmd_certs)

    records = commands.add_parser("records", help="list recent contacts")
    records.add_argument("--limit", type=int, default=20)
    records.add_argument("--json", action="store_true", help="print JSON instead of a table")
    records.set_defaults(handler=cmd_records)

    report = commands.add_parser(
        "report", help="contact-centre figures over a period (docs/metrics.md)"
    )
    report.add_argument(
        "--from", dest="first", metavar="YYYY-MM-DD", help="first day (default: the --to day)"
    )
    report.add_argument(
        "--to", dest="last", metavar="YYYY-MM-DD", help="last day, inclusive (default: today)"
    )
    report.add_argument("--service", help="only this service's contacts (its code)")
    report.add_argument("--executive", metavar="RUN", help="only contacts of this executive")
    form = report.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON instead of tables")
    form.add_argument("--csv", action="store_true", help="print CSV (one row per group)")
    report.set_defaults(handler=cmd_report)

    audit = commands.add_parser("audit", help="verify the hash-chained audit trail")
    audit.add_argument(
        "action",
        choices=("verify", "head"),
        help="verify: walk the chain, exit 1 at the first broken link; head: print seq and hash",
    )
    audit.add_argument(
        "--head",
        metavar="SEQ:HASH",
        type=_head,
        help="a head printed earlier by `branch audit head`: also catches entries cut from the end",
    )
    audit.set_defaults(handler=cmd_audit)

    purge = commands.add_parser(
        "purge", help="erase personal data of contacts past the retention period"
    )
    purge.add_argument(
        "--days", type=int, help="retention period in days (default: retention.days)"
    )
    purge.set_defaults(handler=cmd_purge)

    probe = commands.add_parser("probe", help="run a synthetic contact against a running branch")
    probe.add_argument("url", help="the branch's address, e.g. https://localhost:8443")
    probe.add_argument(
        "--executive-url",
        help="where the synthetic executive connects (another node of the same deployment); "
        "default: the same address",
    )
    probe.add_argument("--insecure", action="store_true", help="skip TLS certificate checks")
    probe.add_argument("--ca", help="extra CA certificate to trust (e.g. certs/ca.pem)")
    probe.add_argument("--citizen-run", default="44.444.444-4")
    probe.add_argument("--executive-run", default="11.111.111-1")
    probe.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per step")
    probe.set_defaults(handler=cmd_probe)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # ICE and codec chatter drowns the probe's own steps.
        for noisy in ("aioice", "aiortc"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(f"branch: configuration error: {error}", file=sys.stderr)
        return 2
    except StoreUnreachable as error:
        print(f"branch: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
