from __future__ import annotations

from pathlib import Path

import pytest

from branch.config import describe_settings, load_settings, without_password
from branch.core.figures import Thresholds
from branch.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.port == 8443
    assert settings.base_url == "https://localhost:8443"
    assert settings.redirect_uri == "https://localhost:8443/auth/callback"
    assert settings.issuer == "https://accounts.claveunica.gob.cl/openid"
    assert not settings.oidc_dev_login


def test_precedence_defaults_file_environment_overrides(tmp_path: Path) -> None:
    config = tmp_path / "branch.toml"
    config.write_text('port = 9000\nhost = "127.0.0.1"\n[oidc]\nclient_id = "from-file"\n')
    settings = load_settings(
        {"BRANCH_PORT": "9100", "BRANCH_DATA_DIR": "/srv/branch"}, config, host="::1"
    )
    assert (settings.port, settings.host, settings.data_dir) == (9100, "::1", "/srv/branch")
    assert settings.oidc_client_id == "from-file"


def test_config_file_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "b.toml"
    config.write_text("[roles]\nexecutives = ['11.111.111-1']\n")
    settings = load_settings({"BRANCH_CONFIG": str(config)})
    assert settings.roles_executives == ("11.111.111-1",)


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = load_settings({"BRANCH_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,fd00::/8"})
    assert [str(network) for network in settings.trusted_proxy_networks] == [
        "10.0.0.0/8",
        "192.0.2.7/32",
        "fd00::/8",
    ]
    assert load_settings({}).trusted_proxy_networks == ()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BRANCH_PORT": "eighty"}, "port: invalid literal for int() with base 10: 'eighty'"),
        ({"BRANCH_PORT": "70000"}, "port: 70000 is not a TCP port"),
        ({"BRANCH_TLS": "maybe"}, "tls: 'maybe' is not true or false"),
        ({"BRANCH_COLOUR": "blue"}, "BRANCH_COLOUR: unknown setting"),
        ({"BRANCH_MODE": "staging"}, "mode: 'staging' is not one of production, development"),
        ({"BRANCH_OIDC_DEV_LOGIN": "true"}, "oidc.dev_login: the development login cannot run"),
        ({"BRANCH_PUBLIC_URL": "ftp://x"}, "public_url: 'ftp://x' is not an http(s) URL"),
        ({"BRANCH_WEBRTC_ICE_SERVERS": '[{"urls": "http://x"}]'}, "must start with stun:"),
        ({"BRANCH_QUEUES": "[]"}, "queues: service codes must be unique"),
        (
            {"BRANCH_WEBRTC_TURN_URLS": "stun:x:3478", "BRANCH_WEBRTC_TURN_SECRET": "s"},
            "webrtc.turn_urls: 'stun:x:3478' must start with turn: or turns:",
        ),
        ({"BRANCH_WEBRTC_TURN_URLS": "turn:x:3478"}, "webrtc.turn_secret: needed"),
        ({"BRANCH_WEBRTC_ICE_TRANSPORT_POLICY": "relay"}, "relay needs TURN"),
        ({"BRANCH_WEBRTC_ICE_TRANSPORT_POLICY": "none"}, "'none' is not one of all, relay"),
        (
            {"BRANCH_QUEUES": '[{"code": "g", "name": "G", "reasons": []}]'},
            "queues: service 'g': reasons: codes must be unique and the catalog not empty",
        ),
        ({"BRANCH_ROLES_SKILLS": '{"1-9": 3}'}, "roles.skills: each executive's skills are text"),
        ({"BRANCH_LIMITS_NOTES": "0"}, "limits.notes: must be positive"),
        (
            {"BRANCH_TRUSTED_PROXIES": "10.0.0.0/8, nginx.internal"},
            "trusted_proxies: 'nginx.internal' is not an IP address or network",
        ),
        (
            {"BRANCH_SUPERVISION_NOTICE_SECONDS": "0"},
            "supervision.notice_seconds: must be positive",
        ),
        (
            {"BRANCH_FIGURES_SERVICE_LEVEL_SECONDS": "0"},
            "figures.service_level_seconds: must be positive",
        ),
        (
            {"BRANCH_FIGURES_SHORT_ABANDON_SECONDS": "90"},
            "figures.short_abandon_seconds: 90 must be between 0 and "
            "figures.service_level_seconds (60)",
        ),
    ],
)
def test_bad_environment_fails_naming_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("colour = 'blue'\n", "colour: unknown setting"),
        ("[oidc]\nissuer_url = 'x'\n", "oidc.issuer_url: unknown setting"),
        ("[nonsense]\nx = 1\n", "nonsense: unknown setting"),
        ("port = '8443'\n", "port: '8443' is not a whole number"),
        (
            "[roles]\nexecutives = '11.111.111-1'\n",
            "roles.executives: '11.111.111-1' is not a list",
        ),
        ("port = \n", "config file"),
    ],
)
def test_bad_file_fails_naming_the_key(tmp_path: Path, document: str, message: str) -> None:
    config = tmp_path / "branch.toml"
    config.write_text(document)
    with pytest.raises(ConfigError) as caught:
        load_settings({}, config)
    assert message in str(caught.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({}, tmp_path / "nope.toml")


def test_development_mode_turns_on_the_dev_login() -> None:
    settings = load_settings({}, mode="development", port=9443)
    assert settings.oidc_dev_login
    assert settings.issuer == "https://localhost:9443/dev-login"


def test_secrets_are_masked_in_repr() -> None:
    settings = load_settings(
        {"BRANCH_OIDC_CLIENT_SECRET": "hunter2", "BRANCH_SESSION_SECRET": "s3"}
    )
    assert "hunter2" not in repr(settings) and "s3'" not in repr(settings)
    assert "oidc_client_secret='********'" in repr(settings)


def test_store_urls_with_a_password_are_masked_in_repr() -> None:
    settings = load_settings(
        {
            "BRANCH_STORES_LIVE": "redis://:hunter2@redis.example:6380/0",
            "BRANCH_STORES_RECORDS": "postgresql://branch:s3cret@db.example/branch",
        }
    )
    assert settings.stores_live == "redis://:hunter2@redis.example:6380/0"
    assert "hunter2" not in repr(settings) and "s3cret" not in repr(settings)
    assert "stores_live='********'" in repr(settings)
    assert "stores_records='********'" in repr(settings)


def test_an_empty_live_prefix_is_refused_for_redis() -> None:
    env = {"BRANCH_STORES_LIVE": "redis://127.0.0.1/0", "BRANCH_STORES_LIVE_PREFIX": ""}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert str(caught.value) == "stores.live_prefix: must not be empty for redis://"
    assert load_settings({"BRANCH_STORES_LIVE_PREFIX": ""}).stores_live == "memory://"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@127.0.0.1:6380/0", "redis://:***@127.0.0.1:6380/0"),
        ("rediss://app:hunter2@[::1]:6380/2", "rediss://app:***@[::1]:6380/2"),
        ("postgres://u:secret@db.example:5433/b", "postgres://u:***@db.example:5433/b"),
        ("postgresql://u@db.example/b", "postgresql://u@db.example/b"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_a_store_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert without_password(url) == shown


def test_ice_servers_and_catalogs_from_environment() -> None:
    settings = load_settings(
        {
            "BRANCH_WEBRTC_ICE_SERVERS": '[{"urls": ["turn:t.example:3478"], "username": "u", "credential": "c"}]',
            "BRANCH_QUEUES": '[{"code": "q", "name": "Q", "reasons": [{"code": "a", "label": "A"}]}]',
        }
    )
    assert settings.webrtc_ice_servers[0].to_wire() == {
        "urls": ["turn:t.example:3478"],
        "username": "u",
        "credential": "c",
    }
    queue = settings.queue("q")
    assert queue is not None and settings.queue("general") is None
    assert queue.reason("a") is not None and queue.reason("b") is None


SERVICES = """
[roles]
executives = ["11.111.111-1", "12.345.678-5"]

[roles.skills]
"11.111.111-1" = "especialista > triage"

[service]
routing = "round_robin"

[[queues]]
code = "triage"
name = "Orientación"
hours = ["mon-fri 08:30-13:30"]
holidays = ["2026-12-25"]
max_waiting = 40

[[queues]]
code = "especialista"
name = "Especialista"
reasons = [{code = "ges", label = "Garantías GES"}]
allow_unstaffed = false
max_wait_minutes = 45
hard_max_wait_minutes = 60
"""


def test_figures_thresholds_from_the_environment() -> None:
    settings = load_settings(
        {
            "BRANCH_FIGURES_SERVICE_LEVEL_SECONDS": "20",
            "BRANCH_FIGURES_SHORT_ABANDON_SECONDS": "3",
            "BRANCH_SERVICE_TIMEZONE": "America/Punta_Arenas",
        }
    )
    assert settings.thresholds == Thresholds(20.0, 3.0, "America/Punta_Arenas")


def test_services_skills_and_routing_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "branch.toml"
    path.write_text(SERVICES, encoding="utf-8")
    settings = load_settings({}, path)
    assert [queue.code for queue in settings.queues] == ["triage", "especialista"]
    triage, especialista = settings.queues
    assert triage.admission.max_waiting == 40
    assert not triage.admission.schedule.always_open
    assert especialista.admission.schedule.always_open
    assert (especialista.admission.allow_unstaffed, especialista.admission.max_wait) == (
        False,
        2700,
    )
    assert [entry.code for entry in especialista.reasons] == ["ges"]
    assert settings.skills("11.111.111-1") == (("especialista",), ("triage",))
    assert settings.skills("12.345.678-5") == (("triage", "especialista"),)  # not listed: all
    assert settings.floor_rules.routing == "round_robin"
    # Only the service with a hard maximum wait has one, in seconds.
    assert settings.floor_rules.wait_limits == (("especialista", 3600.0),)
    assert (
        triage.to_wire()["hardMaxWaitSeconds"],
        especialista.to_wire()["hardMaxWaitSeconds"],
    ) == (
        None,
        3600,
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('"especialista > triage"', '"especialista > nada"'),
            "roles.skills.11.111.111-1: 'nada' is not a service",
        ),
        (
            ('"especialista > triage"', '"especialista >"'),
            "roles.skills.11.111.111-1: skills 'especialista >': an empty tier",
        ),
        (
            ('"11.111.111-1" = ', '"33.333.333-3" = '),
            "roles.skills: 33.333.333-3 is not in roles.executives",
        ),
        (
            ('routing = "round_robin"', 'routing = "random"'),
            "service.routing: 'random' is not one of longest_idle, fewest_contacts, round_robin",
        ),
        (('code = "especialista"', 'code = "triage"'), "queues: service codes must be unique"),
        (
            ("max_waiting = 40", 'max_waiting = "40"'),
            "queues: service 'triage': max_waiting: '40' is not a whole number",
        ),
        (("max_waiting = 40", "maximum = 40"), "queues: service 'triage': unknown key 'maximum'"),
        (
            ('"mon-fri 08:30-13:30"', '"lun-vie 08:30-13:30"'),
            "queues: service 'triage': 'lun-vie 08:30-13:30': days are mon",
        ),
        (
            ('"2026-12-25"', '"25-12-2026"'),
            "queues: service 'triage': holiday '25-12-2026' is not a date",
        ),
        (
            ("hard_max_wait_minutes = 60", "hard_max_wait_minutes = 30"),
            "queues: service 'especialista': hard_max_wait_minutes (30) must not be below "
            "max_wait_minutes (45)",
        ),
        (
            ("hard_max_wait_minutes = 60", "hard_max_wait_minutes = -1"),
            "queues: service 'especialista': hard_max_wait_minutes must be 0 or more",
        ),
        (
            ("allow_unstaffed = false", 'allow_unstaffed = "no"'),
            "queues: service 'especialista': allow_unstaffed: 'no' is not true or false",
        ),
    ],
)
def test_bad_services_are_named(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = tmp_path / "branch.toml"
    path.write_text(SERVICES.replace(*edit), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings({}, path)
    assert str(caught.value).startswith(message), str(caught.value)


def test_example_file_documents_every_setting_and_loads() -> None:
    example = (ROOT / "branch.example.toml").read_text(encoding="utf-8")
    for key, _help, _default, _secret in describe_settings():
        section, _, name = key.rpartition(".")
        documented = (f"{name} =", f"[{key}]", f"[[{key}]]")
        assert any(form in example for form in documented), (
            f"{key} is not documented in branch.example.toml"
        )
        if section:
            assert f"[{section}]" in example
    assert load_settings({}, ROOT / "branch.example.toml") == load_settings({})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"BRANCH_ROLES_AUDITORS": "33.333.333-4"},
            "roles.auditors: El RUN 33.333.333-4 no es válido: el dígito verificador no corresponde",
        ),
        (
            {"BRANCH_ROLES_ADMINS": "cinco"},
            "roles.admins: El RUN 'cinco' no tiene un formato válido",
        ),
        (
            {"BRANCH_ROLES_AUDITORS": "33.333.333-3", "BRANCH_ROLES_EXECUTIVES": "33333333-3"},
            "roles.auditors: 33.333.333-3 is also in roles.executives; "
            "an auditor holds no other role",
        ),
        (
            {"BRANCH_ROLES_ADMINS": "55.555.555-5", "BRANCH_ROLES_AUDITORS": "55555555-5"},
            "roles.auditors: 55555555-5 is also in roles.admins; an auditor holds no other role",
        ),
        (
            {"BRANCH_ROLES_ADMINS": "55.555.555-5", "BRANCH_ROLES_SUPERVISORS": "55.555.555-5"},
            "roles.admins: 55.555.555-5 is also in roles.supervisors; an admin holds no other role",
        ),
    ],
)
def test_role_lists_need_valid_runs_and_keep_duties_apart(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert str(caught.value) == message


def test_dev_settings_give_every_role_a_valid_run() -> None:
    settings = load_settings({}, ROOT / "branch.dev.toml")
    assert settings.roles_auditors == ("33.333.333-3",)
    assert settings.roles_admins == ("55.555.555-5",)
