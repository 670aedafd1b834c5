"""Every setting of the branch, in one place.

Precedence: defaults < TOML file < ``BRANCH_*`` environment variables. A setting
``key`` in TOML section ``[section]`` is the attribute ``section_key`` and the
variable ``BRANCH_SECTION_KEY``; top-level keys have no section (``port`` is
``BRANCH_PORT``). Unknown keys and bad values fail at start, naming the key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from branch.auth.run import Run
from branch.core.figures import Thresholds
from branch.core.hours import Admission, Schedule
from branch.core.model import FloorRules, Routing
from branch.core.wallboard import Targets
from branch.errors import ConfigError, InvalidRun

ENV_PREFIX = "BRANCH_"
SECTIONS = (
    "oidc",
    "roles",
    "session",
    "service",
    "figures",
    "supervision",
    "webrtc",
    "stores",
    "limits",
    "retention",
)
ROUTINGS = tuple(routing.value for routing in Routing)
MODES = ("production", "development")
LOGOUT_STYLES = ("claveunica", "standard", "none")


@dataclass(frozen=True)
class CatalogEntry:
    """One choice in a catalog (contact reasons, call outcomes)."""

    code: str
    label: str
    label_en: str = ""

    def __post_init__(self) -> None:
        if not self.code or not self.code.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"catalog code {self.code!r} must be letters, digits, '-' or '_'")
        if not self.label.strip():
            raise ValueError(f"catalog entry {self.code!r} needs a label")

    def to_wire(self) -> dict[str, str]:
        return {"code": self.code, "label": self.label, "labelEn": self.label_en or self.label}


@dataclass(frozen=True)
class IceServer:
    """An RTCIceServer as the browser spells it."""

    urls: tuple[str, ...]
    username: str = ""
    credential: str = ""

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("an ICE server needs at least one URL")
        for url in self.urls:
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(
                    f"ICE server URL {url!r} must start with stun:, stuns:, turn: or turns:"
                )

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"urls": list(self.urls)}
        if self.username:
            wire["username"] = self.username
            wire["credential"] = self.credential
        return wire


DEFAULT_REASONS = (
    CatalogEntry("licencias", "Licencias médicas", "Sick leave"),
    CatalogEntry("afiliacion", "Afiliación y cotizaciones", "Membership and contributions"),
    CatalogEntry("bonos", "Bonos y reembolsos", "Vouchers and refunds"),
    CatalogEntry("ges", "Garantías GES", "GES health guarantees"),
    CatalogEntry("reclamos", "Reclamos y sugerencias", "Complaints and suggestions"),
    CatalogEntry("otro", "Otra consulta", "Other question"),
)

DEFAULT_OUTCOMES = (
    CatalogEntry("resuelto", "Resuelto en la atención", "Resolved during the call"),
    CatalogEntry("informado", "Información entregada", "Information given"),
    CatalogEntry("derivado", "Derivado a otra área", "Referred to another area"),
    CatalogEntry("antecedentes", "Requiere antecedentes adicionales", "Needs more documents"),
    CatalogEntry("no_resuelto", "No resuelto", "Not resolved"),
    CatalogEntry("interrumpido", "Atención interrumpida", "Call interrupted"),
    CatalogEntry("sin_cierre", "Cierre no registrado a tiempo", "Wrap-up not recorded in time"),
)

DEFAULT_PAUSE_REASONS = (
    CatalogEntry("descanso", "Descanso", "Break"),
    CatalogEntry("colacion", "Colación", "Lunch"),
    CatalogEntry("capacitacion", "Capacitación", "Training"),
    CatalogEntry("administrativo", "Tareas administrativas", "Administrative work"),
    CatalogEntry("tecnico", "Problema técnico", "Technical problem"),
)

DEFAULT_DECLINE_REASONS = (
    CatalogEntry("conflicto", "Conflicto de interés", "Conflict of interest"),
    CatalogEntry("tecnico", "Problema técnico", "Technical problem"),
    CatalogEntry("otro", "Otro motivo", "Other reason"),
)


@dataclass(frozen=True)
class Queue:
    """One service citizens can join: its own reasons, hours and admission rules.

    Declared as ``[[queues]]`` tables; the keys are these fields.
    """

    code: str
    name: str
    name_en: str = ""
    reasons: tuple[CatalogEntry, ...] = DEFAULT_REASONS
    timezone: str = "America/Santiago"
    hours: tuple[str, ...] = ()  # e.g. ("mon-fri 08:30-13:30",); none: always open
    holidays: tuple[str, ...] = ()  # ISO dates the service is closed
    serve_after_close_minutes: int = 30  # those already waiting at closing are served this long
    allow_unstaffed: bool = True  # may citizens wait while no executive of it is logged in
    max_waiting: int = 0  # 0: no limit
    max_wait_minutes: int = 0  # refuse joins predicted to wait longer; 0: no limit
    # Nobody waits longer in this line: past it the wait ends as "wait_limit"; 0: no limit.
    hard_max_wait_minutes: int = 0
    keep_chat: bool = True  # keep the in-call chat with the contact record
    admission: Admission = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        CatalogEntry(self.code, self.name)  # same rules for the code and the name
        codes = [entry.code for entry in self.reasons]
        if not codes or len(set(codes)) != len(codes):
            raise ValueError("reasons: codes must be unique and the catalog not empty")
        for name in (
            "serve_after_close_minutes",
            "max_waiting",
            "max_wait_minutes",
            "hard_max_wait_minutes",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more")
        if 0 < self.hard_max_wait_minutes < self.max_wait_minutes:
            # People admitted on a prediction would be let go before the predicted turn.
            raise ValueError(
                f"hard_max_wait_minutes ({self.hard_max_wait_minutes}) must not be below "
                f"max_wait_minutes ({self.max_wait_minutes})"
            )
        schedule = Schedule.parse(self.hours, self.holidays, self.timezone)
        admission = Admission(
            schedule,
            serve_after_close=self.serve_after_close_minutes * 60.0,
            allow_unstaffed=self.allow_unstaffed,
            max_waiting=self.max_waiting,
            max_wait=self.max_wait_minutes * 60.0,
        )
        object.__setattr__(self, "admission", admission)

    def reason(self, code: str) -> CatalogEntry | None:
        return next((entry for entry in self.reasons if entry.code == code), None)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Queue:
        known = {item.name for item in dataclasses.fields(cls) if item.init}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
        values = dict(table)
        if "reasons" in values:
            values["reasons"] = tuple(
                CatalogEntry(**_table(item)) for item in _list(values["reasons"])
            )
        for key in ("hours", "holidays"):
            if key in values:
                values[key] = tuple(_list(values[key]))
        for key, value in values.items():
            default = getattr(cls, key, None)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{key}: {value!r} is not true or false")
            elif isinstance(default, int) and (
                isinstance(value, bool) or not isinstance(value, int)
            ):
                raise ValueError(f"{key}: {value!r} is not a whole number")
        return cls(**values)

    def to_wire(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "nameEn": self.name_en or self.name,
            "reasons": [entry.to_wire() for entry in self.reasons],
            "hours": list(self.hours),
            "timezone": self.timezone,
            "hardMaxWaitSeconds": self.hard_max_wait_minutes * 60 or None,
        }


DEFAULT_QUEUES = (Queue("general", "Atención general", "General service"),)


def parse_skills(text: str) -> tuple[tuple[str, ...], ...]:
    """``"especialista > triage, general"``: tiers separated by '>', services by ','."""
    tiers = []
    for part in text.split(">"):
        tier = tuple(code.strip() for code in part.split(",") if code.strip())
        if not tier:
            raise ValueError(f"skills {text!r}: an empty tier")
        tiers.append(tier)
    return tuple(tiers)


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")  # stores.live URLs of a Redis server


def without_password(url: str) -> str:
    """A store URL with its password (if any) replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def _setting(default: Any, help: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"help": help, "secret": secret})


@dataclass(frozen=True)
class Settings:
    mode: str = _setting("production", "production or development (development enables --dev)")
    host: str = _setting("0.0.0.0", "address to listen on")
    port: int = _setting(8443, "port to listen on")
    public_url: str = _setting("", "URL citizens open; default https://localhost:<port>")
    data_dir: str = _setting("data", "where SQLite records and other local files go")
    certs_dir: str = _setting(
        "certs", "where `branch certs` writes the development CA and server certificate"
    )
    tls: bool = _setting(True, "serve HTTPS; turn off only behind a TLS-terminating proxy")
    tls_cert: str = _setting("", "server certificate chain (PEM); default <certs_dir>/server.pem")
    tls_key: str = _setting("", "server private key (PEM); default <certs_dir>/server-key.pem")
    allowed_origins: tuple[str, ...] = _setting((), "extra origins allowed to open the websocket")
    trusted_proxies: tuple[str, ...] = _setting(
        (),
        "addresses or networks (CIDR) of the reverse proxies in front of the nodes, whose "
        "X-Forwarded-For names the client for per-client limits",
    )
    language: str = _setting("es-CL", "default page language: es-CL or en")
    log_format: str = _setting(
        "text", "text, or json: one redacted JSON object per line with the request id"
    )

    oidc_issuer: str = _setting(
        "https://accounts.claveunica.gob.cl/openid", "OpenID issuer, compared exactly"
    )
    oidc_client_id: str = _setting("", "client id registered with the provider")
    oidc_client_secret: str = _setting("", "client secret (client_secret_post)", secret=True)
    oidc_scopes: str = _setting("openid run name", "scopes requested at login")
    oidc_redirect_uri: str = _setting(
        "", "registered redirect URI; default <public_url>/auth/callback"
    )
    oidc_logout_style: str = _setting(
        "claveunica", "claveunica, standard (end_session_endpoint) or none"
    )
    oidc_logout_url: str = _setting(
        "https://accounts.claveunica.gob.cl/api/v1/accounts/app/logout",
        "ClaveÚnica logout address (logout_style = claveunica)",
    )
    oidc_ca_file: str = _setting("", "extra CA bundle trusted when calling the provider")
    oidc_dev_login: bool = _setting(
        False, "serve the built-in development login (development mode only)"
    )

    roles_executives: tuple[str, ...] = _setting(
        (), "RUNs (e.g. 11.111.111-1) with the executive role"
    )
    roles_supervisors: tuple[str, ...] = _setting((), "RUNs with the supervisor role")
    roles_auditors: tuple[str, ...] = _setting(
        (), "RUNs with the auditor role: read-only records and audit trail, nothing live"
    )
    roles_admins: tuple[str, ...] = _setting(
        (), "RUNs with the admin role: reads what supervisors and auditors read, takes no calls"
    )
    roles_skills: tuple[tuple[str, str], ...] = _setting(
        (),
        'executive RUN -> services served, e.g. "especialista > triage, general" '
        "(tiers by '>', first tier first); an executive not listed serves every service",
    )

    session_secret: str = _setting(
        "", "key that signs session cookies; default kept in <data_dir>/session.key", secret=True
    )
    session_max_age: int = _setting(8 * 3600, "seconds a citizen's login lasts at most")
    session_idle_seconds: int = _setting(
        30 * 60, "seconds without a request or an open page after which a citizen's login ends"
    )
    session_staff_max_age: int = _setting(
        6 * 3600, "seconds a staff login lasts at most (a shift; shorter than a citizen's)"
    )
    session_staff_idle_seconds: int = _setting(
        15 * 60, "idle seconds after which a staff login ends"
    )

    service_name: str = _setting("Sucursal en Línea", "name shown on every page")
    service_routing: str = _setting(
        "longest_idle",
        "which available executive gets the next citizen: longest_idle, fewest_contacts "
        "(answered today) or round_robin",
    )
    service_timezone: str = _setting(
        "America/Santiago", "the branch's day for daily figures and fewest_contacts"
    )
    service_grace_seconds: int = _setting(
        120, "seconds a waiting citizen keeps the place after the page closes or the network drops"
    )
    service_ticket_seconds: int = _setting(
        12 * 3600,
        "seconds a queue ticket lasts (the page's proof of its place if the live state is lost), "
        "and how long after a call's start its call tickets can restore it",
    )
    service_offer_timeout_seconds: int = _setting(
        20, "seconds an executive has to accept an offer before it goes back to the queue"
    )
    service_readiness_seconds: int = _setting(
        10,
        "seconds the next citizen's page has to confirm it is there with camera/microphone "
        "live before the executive is offered the call (0: no check)",
    )
    service_max_missed_offers: int = _setting(
        2, "unanswered offers in a row after which the executive stays paused until back"
    )
    service_missed_cooldown_seconds: int = _setting(
        15, "after a single unanswered offer, seconds until the executive is offered again"
    )
    service_wrapup_seconds: int = _setting(
        120, "seconds for the wrap-up; then the default outcome is recorded"
    )
    service_default_outcome: str = _setting(
        "sin_cierre", "outcome recorded when the wrap-up time runs out (a code of outcomes)"
    )
    service_outcomes: tuple[CatalogEntry, ...] = _setting(
        DEFAULT_OUTCOMES, "catalog of call outcomes"
    )

    service_pause_reasons: tuple[CatalogEntry, ...] = _setting(
        DEFAULT_PAUSE_REASONS, "reasons an executive gives for not being ready"
    )
    service_decline_reasons: tuple[CatalogEntry, ...] = _setting(
        DEFAULT_DECLINE_REASONS, "reasons an executive gives for declining an offer"
    )

    queues: tuple[Queue, ...] = _setting(
        DEFAULT_QUEUES,
        "the services citizens join ([[queues]] tables: code, name, name_en, reasons, timezone, "
        "hours, holidays, serve_after_close_minutes, allow_unstaffed, max_waiting, max_wait_minutes, "
        "hard_max_wait_minutes, keep_chat)",
    )

    figures_service_level_seconds: int = _setting(
        60, "service level: the share of contacts answered within this many seconds"
    )
    figures_short_abandon_seconds: int = _setting(
        5, "citizens who leave the line sooner are short abandons, counted apart"
    )

    supervision_push_interval_ms: int = _setting(
        250, "least milliseconds between two wallboard pushes to supervisor pages"
    )
    supervision_refresh_seconds: int = _setting(
        5, "seconds after which the wallboard is pushed again even if nothing changed"
    )
    supervision_notice_seconds: int = _setting(
        3600,
        "seconds a supervisor's message to those waiting in a service stays current: "
        "citizens who reload or join in that time are shown it too",
    )
    supervision_service_level_target: int = _setting(
        80, "service level target in percent: amber below it, red 10 points further down"
    )
    supervision_wait_warn_seconds: int = _setting(
        120, "longest or estimated wait shown amber past this many seconds"
    )
    supervision_wait_alert_seconds: int = _setting(300, "... and red past this many seconds")
    supervision_abandon_warn_percent: int = _setting(5, "abandonment rate shown amber above this")
    supervision_abandon_alert_percent: int = _setting(10, "... and red above this")
    supervision_satisfaction_warn: float = _setting(
        4.0, "average satisfaction (1-5) shown amber below this"
    )
    supervision_satisfaction_alert: float = _setting(3.0, "... and red below this")

    webrtc_ice_servers: tuple[IceServer, ...] = _setting(
        (), "STUN/TURN servers handed to the browsers"
    )

    webrtc_turn_urls: tuple[str, ...] = _setting(
        (),
        "TURN URLs handed out with short-lived credentials, e.g. turn:turn.example.cl:3478 "
        "(aiortc uses only the first)",
    )
    webrtc_turn_secret: str = _setting(
        "", "secret shared with coturn (static-auth-secret) to sign TURN credentials", secret=True
    )
    webrtc_turn_ttl: int = _setting(
        6 * 3600, "seconds a TURN credential lasts (a call needs it for its allocation's refreshes)"
    )
    webrtc_ice_transport_policy: str = _setting(
        "all", "all, or relay to send every call through TURN (hides addresses from the peer)"
    )

    stores_live: str = _setting(
        "memory://",
        "live state: memory:// for one node, redis://host:port/db to share it",
        secret=True,  # a Redis URL may carry a password
    )
    stores_live_prefix: str = _setting(
        "{branch}:",
        "prefix of every Redis key of the live state, so deployments can share a server",
    )
    stores_records: str = _setting(
        "",
        "records: sqlite:///path or postgresql://user:password@host:port/db; "
        "default <data_dir>/records.sqlite3",
        secret=True,  # a PostgreSQL URL may carry a password
    )
    stores_node_timeout_seconds: int = _setting(
        10, "with Redis: seconds without a heartbeat after which a node is taken for dead"
    )

    limits_ws_message_bytes: int = _setting(64 * 1024, "largest websocket message accepted")
    limits_ws_heartbeat_seconds: float = _setting(
        20.0,
        "a silent page is pinged this often, and closed when it leaves a ping unanswered "
        "for half as long",
    )
    limits_ws_send_backlog_bytes: int = _setting(
        1024 * 1024,
        "bytes (UTF-8, as sent) the node may hold for a page that does not read its socket; "
        "past it the page is closed with 4408",
    )
    limits_ws_send_backlog_seconds: float = _setting(
        15.0, "... and seconds a message may wait for such a page before it is closed"
    )
    limits_reason_text: int = _setting(500, "longest free-text reason a citizen may add")
    limits_notes: int = _setting(4000, "longest wrap-up note")
    limits_survey_comment: int = _setting(1000, "longest satisfaction survey comment")
    limits_chat_message: int = _setting(1000, "longest in-call chat message")
    limits_notice: int = _setting(500, "longest message a supervisor sends to those waiting")
    limits_messages_per_second: int = _setting(
        20, "websocket messages per second one page may send, sustained"
    )
    limits_message_burst: int = _setting(
        80, "websocket messages one page may send at once (ICE candidates come in bursts)"
    )
    limits_logins_per_minute: int = _setting(10, "logins started per minute from one address")
    limits_joins_per_hour: int = _setting(12, "queue joins per hour by one person")

    retention_days: int = _setting(
        0,
        "days after a contact closes until its personal data is erased, keeping the "
        "anonymous figures (0: kept until this is set)",
    )
    retention_purge_every_seconds: int = _setting(
        3600, "how often each node runs the retention purge (when retention.days is set)"
    )

    def __post_init__(self) -> None:
        _check_choice("mode", self.mode, MODES)
        _check_choice("oidc.logout_style", self.oidc_logout_style, LOGOUT_STYLES)
        _check_choice("language", self.language, ("es-CL", "en"))
        _check_choice("log_format", self.log_format, ("text", "json"))
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port: {self.port} is not a TCP port")
        if self.oidc_dev_login and self.mode != "development":
            raise ConfigError(
                "oidc.dev_login: the development login cannot run in production mode "
                '(use `branch serve --dev` or set mode = "development")'
            )
        for name in ("public_url", "oidc_issuer", "oidc_redirect_uri"):
            value = getattr(self, name)
            if value and urlsplit(value).scheme not in ("http", "https"):
                raise ConfigError(f"{_key(name)}: {value!r} is not an http(s) URL")
        for name in (
            "limits_ws_message_bytes",
            "limits_ws_heartbeat_seconds",
            "limits_ws_send_backlog_bytes",
            "limits_ws_send_backlog_seconds",
            "limits_reason_text",
            "limits_notes",
            "session_max_age",
            "limits_messages_per_second",
            "limits_message_burst",
            "limits_logins_per_minute",
            "limits_joins_per_hour",
            "session_idle_seconds",
            "session_staff_max_age",
            "session_staff_idle_seconds",
            "stores_node_timeout_seconds",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_key(name)}: must be positive")
        codes = [queue.code for queue in self.queues]
        if len(set(codes)) != len(codes) or not codes:
            raise ConfigError("queues: service codes must be unique and there must be one at least")
        _check_choice("service.routing", self.service_routing, ROUTINGS)
        _check_choice(
            "webrtc.ice_transport_policy", self.webrtc_ice_transport_policy, ("all", "relay")
        )
        for url in self.webrtc_turn_urls:
            if not url.startswith(("turn:", "turns:")):
                raise ConfigError(f"webrtc.turn_urls: {url!r} must start with turn: or turns:")
        if self.webrtc_turn_urls and not self.webrtc_turn_secret:
            raise ConfigError("webrtc.turn_secret: needed when webrtc.turn_urls is set")
        if self.stores_live.startswith(REDIS_SCHEMES):
            if not self.stores_live_prefix:
                raise ConfigError("stores.live_prefix: must not be empty for redis://")
        if self.webrtc_turn_ttl <= 0:
            raise ConfigError("webrtc.turn_ttl: must be positive")
        if self.webrtc_ice_transport_policy == "relay" and not self.webrtc_turn_urls:
            raise ConfigError(
                "webrtc.ice_transport_policy: relay needs TURN (set webrtc.turn_urls)"
            )
        try:
            Schedule.parse([], [], self.service_timezone)
        except ValueError as exc:
            raise ConfigError(f"service.timezone: {exc}") from None
        _check_role_lists(self)
        for run, text in self.roles_skills:
            if run not in self.roles_executives:
                raise ConfigError(f"roles.skills: {run} is not in roles.executives")
            try:
                tiers = parse_skills(text)
            except ValueError as exc:
                raise ConfigError(f"roles.skills.{run}: {exc}") from None
            for tier in tiers:
                for code in tier:
                    if self.queue(code) is None:
                        raise ConfigError(
                            f"roles.skills.{run}: {code!r} is not a service (queues: {', '.join(codes)})"
                        )
        for key in ("outcomes", "pause_reasons", "decline_reasons"):
            codes = [entry.code for entry in getattr(self, f"service_{key}")]
            if len(set(codes)) != len(codes) or not codes:
                raise ConfigError(f"service.{key}: codes must be unique and the catalog not empty")
        if self.outcome(self.service_default_outcome) is None:
            raise ConfigError(
                f"service.default_outcome: {self.service_default_outcome!r} is not in service.outcomes"
            )
        for name in (
            "service_offer_timeout_seconds",
            "service_max_missed_offers",
            "service_wrapup_seconds",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_key(name)}: must be positive")
        if self.service_missed_cooldown_seconds < 0:
            raise ConfigError("service.missed_cooldown_seconds: must be 0 or more")
        if self.figures_service_level_seconds <= 0:
            raise ConfigError("figures.service_level_seconds: must be positive")
        if not 0 <= self.figures_short_abandon_seconds <= self.figures_service_level_seconds:
            raise ConfigError(
                f"figures.short_abandon_seconds: {self.figures_short_abandon_seconds} must be "
                f"between 0 and figures.service_level_seconds ({self.figures_service_level_seconds})"
            )
        _ = self.trusted_proxy_networks  # parsed here so a bad one stops the start
        if self.retention_days < 0:
            raise ConfigError("retention.days: must be 0 (keep) or more")
        if self.retention_purge_every_seconds <= 0:
            raise ConfigError("retention.purge_every_seconds: must be positive")
        for name in (
            "supervision_push_interval_ms",
            "supervision_refresh_seconds",
            "supervision_notice_seconds",
            "limits_notice",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_key(name)}: must be positive")
        try:
            _ = self.wallboard_targets  # built here so a bad one stops the start
        except ValueError as exc:
            raise ConfigError(f"supervision: {exc}") from None

    # Derived values: computed here so no caller rebuilds them differently.
    @property
    def development(self) -> bool:
        return self.mode == "development"

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        networks = []
        for entry in self.trusted_proxies:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    f"trusted_proxies: {entry!r} is not an IP address or network"
                ) from None
        return tuple(networks)

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls else "http"
        return f"{scheme}://localhost:{self.port}"

    @property
    def redirect_uri(self) -> str:
        return self.oidc_redirect_uri or f"{self.base_url}/auth/callback"

    @property
    def issuer(self) -> str:
        """The issuer the RP trusts: the built-in one when the development login is on."""
        return f"{self.base_url}/dev-login" if self.oidc_dev_login else self.oidc_issuer

    @property
    def origins(self) -> frozenset[str]:
        parts = urlsplit(self.base_url)
        return frozenset({f"{parts.scheme}://{parts.netloc}", *self.allowed_origins})

    @property
    def cert_path(self) -> Path:
        return Path(self.tls_cert or Path(self.certs_dir) / "server.pem")

    @property
    def key_path(self) -> Path:
        return Path(self.tls_key or Path(self.certs_dir) / "server-key.pem")

    @property
    def ca_path(self) -> Path:
        return Path(self.certs_dir) / "ca.pem"

    @property
    def records_url(self) -> str:
        return self.stores_records or f"sqlite:///{Path(self.data_dir) / 'records.sqlite3'}"

    def session_limits(self, staff: bool) -> tuple[int, int]:
        """(absolute lifetime, idle timeout) in seconds for a citizen's or a staff login."""
        if staff:
            return self.session_staff_max_age, self.session_staff_idle_seconds
        return self.session_max_age, self.session_idle_seconds

    def queue(self, code: str) -> Queue | None:
        return next((queue for queue in self.queues if queue.code == code), None)

    def skills(self, run: str) -> tuple[tuple[str, ...], ...]:
        """The executive's services in tiers; every service in one tier when not configured."""
        text = dict(self.roles_skills).get(run)
        if text is None:
            return (tuple(queue.code for queue in self.queues),)
        return parse_skills(text)

    @property
    def floor_rules(self) -> FloorRules:
        return FloorRules(
            grace=float(self.service_grace_seconds),
            offer_timeout=float(self.service_offer_timeout_seconds),
            max_missed=self.service_max_missed_offers,
            missed_cooldown=float(self.service_missed_cooldown_seconds),
            wrapup=float(self.service_wrapup_seconds),
            readiness=float(self.service_readiness_seconds),
            routing=Routing(self.service_routing),
            timezone=self.service_timezone,
            wait_limits=tuple(
                (queue.code, queue.hard_max_wait_minutes * 60.0)
                for queue in self.queues
                if queue.hard_max_wait_minutes
            ),
        )

    @property
    def thresholds(self) -> Thresholds:
        """The parameters of the contact-centre figures (reports and wallboard)."""
        return Thresholds(
            service_level=float(self.figures_service_level_seconds),
            short_abandon=float(self.figures_short_abandon_seconds),
            timezone=self.service_timezone,
        )

    @property
    def wallboard_targets(self) -> Targets:
        """When the wallboard's figures turn amber or red."""
        return Targets(
            service_level_seconds=self.figures_service_level_seconds,
            service_level_target=self.supervision_service_level_target,
            wait_warn_seconds=self.supervision_wait_warn_seconds,
            wait_alert_seconds=self.supervision_wait_alert_seconds,
            abandon_warn_percent=self.supervision_abandon_warn_percent,
            abandon_alert_percent=self.supervision_abandon_alert_percent,
            satisfaction_warn=self.supervision_satisfaction_warn,
            satisfaction_alert=self.supervision_satisfaction_alert,
        )

    def pause_reason(self, code: str) -> CatalogEntry | None:
        return next((entry for entry in self.service_pause_reasons if entry.code == code), None)

    def decline_reason(self, code: str) -> CatalogEntry | None:
        return next((entry for entry in self.service_decline_reasons if entry.code == code), None)

    def outcome(self, code: str) -> CatalogEntry | None:
        return next((entry for entry in self.service_outcomes if entry.code == code), None)

    def __repr__(self) -> str:
        shown = []
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.metadata.get("secret") and value:
                value = "********"
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"


def _key(name: str) -> str:
    for section in SECTIONS:
        if name.startswith(section + "_"):
            return f"{section}.{name[len(section) + 1 :]}"
    return name


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")


_FIELDS = {item.name: item for item in dataclasses.fields(Settings)}


def _convert(name: str, raw: Any, *, from_env: bool) -> Any:
    """Turn a TOML or environment value into the field's type, or raise naming the key."""
    key = _key(name)
    default = _FIELDS[name].default
    try:
        if isinstance(default, bool):
            if from_env:
                lowered = str(raw).strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(f"{raw!r} is not true or false")
                return lowered in ("1", "true", "yes", "on")
            if not isinstance(raw, bool):
                raise ValueError(f"{raw!r} is not true or false")
            return raw
        if isinstance(default, float):
            if isinstance(raw, bool) or (not from_env and not isinstance(raw, int | float)):
                raise ValueError(f"{raw!r} is not a number")
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f"{raw!r} is not a number") from None
        if isinstance(default, int):
            if isinstance(raw, bool) or (not from_env and not isinstance(raw, int)):
                raise ValueError(f"{raw!r} is not a whole number")
            return int(raw)
        if isinstance(default, str):
            if not isinstance(raw, str):
                raise ValueError(f"{raw!r} is not text")
            return raw
        if name in (
            "service_outcomes",
            "service_pause_reasons",
            "service_decline_reasons",
        ):
            items = json.loads(raw) if from_env else raw
            return tuple(CatalogEntry(**_table(item)) for item in _list(items))
        if name == "queues":
            items = json.loads(raw) if from_env else raw
            queues = []
            for index, item in enumerate(_list(items)):
                try:
                    queues.append(Queue.from_table(_table(item)))
                except (TypeError, ValueError) as exc:
                    code = item.get("code", index) if isinstance(item, Mapping) else index
                    raise ValueError(f"service {code!r}: {exc}") from None
            return tuple(queues)
        if name == "roles_skills":
            table = json.loads(raw) if from_env else raw
            skills = dict(_table(table))
            if not all(isinstance(value, str) for value in skills.values()):
                raise ValueError('each executive\'s skills are text like "triage > general"')
            return tuple(skills.items())
        if name == "webrtc_ice_servers":
            items = json.loads(raw) if from_env else raw
            servers = []
            for item in _list(items):
                table = dict(_table(item))
                urls = table.pop("urls", ())
                urls = (urls,) if isinstance(urls, str) else tuple(_list(urls))
                servers.append(IceServer(urls=urls, **table))
            return tuple(servers)
        # The remaining fields are lists of strings.
        items = [part.strip() for part in str(raw).split(",") if part.strip()] if from_env else raw
        if not all(isinstance(item, str) for item in _list(items)):
            raise ValueError(f"{raw!r} is not a list of text")
        return tuple(items)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: {exc}") from None


ROLE_LISTS = ("executives", "supervisors", "auditors", "admins")
# Separation of duties: whoever audits or administers the branch does not also serve in it.
EXCLUSIVE_ROLES = ("auditors", "admins")


def _check_role_lists(settings: Settings) -> None:
    holders: dict[str, dict[Run, str]] = {}
    for name in ROLE_LISTS:
        listed: dict[Run, str] = {}
        for entry in getattr(settings, f"roles_{name}"):
            try:
                listed[Run.parse(entry)] = entry
            except InvalidRun as exc:
                raise ConfigError(f"roles.{name}: {exc}") from None
        holders[name] = listed
    for name in EXCLUSIVE_ROLES:
        for other in ROLE_LISTS:
            if other == name:
                continue
            for run, entry in holders[name].items():
                if run in holders[other]:
                    raise ConfigError(
                        f"roles.{name}: {entry} is also in roles.{other}; "
                        f"an {name[:-1]} holds no other role"
                    )


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{value!r} is not a list")
    return list(value)


def _table(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{value!r} is not a table")
    return value


def _flatten_toml(document: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if key in SECTIONS:
            for inner, inner_value in _table(value).items():
                flat[f"{key}_{inner}"] = inner_value
                if f"{key}_{inner}" not in _FIELDS:
                    raise ConfigError(f"{key}.{inner}: unknown setting")
        elif key in _FIELDS and not any(key.startswith(s + "_") for s in SECTIONS):
            flat[key] = value
        else:
            raise ConfigError(f"{key}: unknown setting")
    return flat


def load_settings(
    env: Mapping[str, str],
    config_file: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from defaults, an optional TOML file, the environment and overrides.

    ``config_file`` defaults to ``BRANCH_CONFIG`` when set. ``overrides`` are the
    command line's, already typed, and win over everything.
    """
    values: dict[str, Any] = {}
    path = config_file or env.get("BRANCH_CONFIG")
    if path:
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        for name, raw in _flatten_toml(document).items():
            values[name] = _convert(name, raw, from_env=False)
    for variable, raw in env.items():
        if not variable.startswith(ENV_PREFIX) or variable == "BRANCH_CONFIG":
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        if name not in _FIELDS:
            raise ConfigError(f"{variable}: unknown setting")
        values[name] = _convert(name, raw, from_env=True)
    values.update({name: value for name, value in overrides.items() if value is not None})
    if values.get("mode") == "development" and "oidc_dev_login" not in values:
        values["oidc_dev_login"] = True
    try:
        return Settings(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def describe_settings() -> list[tuple[str, str, Any, bool]]:
    """(key, help, default, secret) for every setting, for docs and the example file."""
    return [
        (_key(item.name), item.metadata["help"], item.default, item.metadata["secret"])
        for item in dataclasses.fields(Settings)
    ]


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
