"""The trail's canonical JSON: orjson's bytes are json's, so every hash stays what it was."""

from __future__ import annotations

import enum
import hashlib
import json
import math
import random
import struct
from typing import Any

import pytest

from branch.audit import GENESIS, canonical_json, chained_after, entry_hash, new_entry, seal_of

SPANISH = "Atención: José Muñoz pidió ¿cuándo? «ñandú» — señal débil, ¡gracias! 🇨🇱"


def legacy(value: Any) -> bytes:
    """How the trail has always serialised what it hashes."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


class Kind(enum.StrEnum):
    JOINED = "contact.joined"


class Count(int):
    pass


EVERY_CHARACTER = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)

REPRESENTATIVE: list[Any] = [
    {},
    {"reason": "citizen_dropped", "by": "retention"},
    {"before": 1795525200.5, "contacts": 12, "entries": 40, "closed": 0},
    {"f": "20261124-000042", "score": 5, "comment": SPANISH},
    {"ñ": 1, "n": 2, "Ñ": 3, "é": 4, "e\u0301": 5, "Z": 6, "a": {"z": [1, {"b": None, "a": True}]}},
    {"text": 'comillas " barra \\ salto \n tab \t retorno \r nulo \x00 \x1f \x7f \u2028 \u2029'},
    {"every character": EVERY_CHARACTER, EVERY_CHARACTER[:3000]: "as a key too"},
    [0, -1, 2**63 - 1, -(2**63), 2**64 - 1, True, False, None],
    [0.0, -0.0, 0.1, 1.5, -2.25, 1e-4, 123456789.123, 1795525200.123456, 1e15, 1e16, 1e22],
    [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 9999999999999998.0, 1e300],
    # Written otherwise by orjson, so canonical_json hands them to json:
    [9.999999999999999e-05, 1e-5, 1.5e-7, -2.5e-10, math.nan, math.inf, -math.inf],
    [2**64, -(2**63) - 1, 10**40],
    ("a", ("tuple", 1)),
    {"kind": Kind.JOINED, "count": Count(3)},
    {1: "int key", 2: "json writes it as a string"},
    {"deep": [[[[[[[[[[{"a": [[[[[[[[[[{}]]]]]]]]]]}]]]]]]]]]]},
    # The fields of an entry as they are hashed (a sealed citizen's, then staff's).
    [GENESIS, 1, repr(1795525200.0), "contact.joined", "citizen", "c1", "j:c1", {}, "f" * 64],
    ["a" * 64, 42, repr(1795525290.0), "contact.wrapped_up", "executive:11.111.111-1", None,
     "w:c1", {"outcome": "resuelto", "notes": SPANISH}],
]  # fmt: skip


@pytest.mark.parametrize("value", REPRESENTATIVE, ids=range(len(REPRESENTATIVE)))
def test_canonical_json_is_byte_for_byte_what_json_wrote(value: Any) -> None:
    assert canonical_json(value) == legacy(value)


def test_nesting_past_orjson_s_limit_is_still_json_s() -> None:
    value: Any = {}
    for _ in range(300):
        value = [value]
    assert canonical_json(value) == legacy(value)


def test_random_floats_are_written_as_json_writes_them() -> None:
    rng = random.Random(8)
    floats = [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)
    ]
    floats += [rng.uniform(-1e-3, 1e-3) for _ in range(5_000)]  # either side of 1e-4
    floats += [rng.uniform(0, 4e9) for _ in range(20_000)]  # timestamps
    floats += [rng.uniform(-1e6, 1e6) * 10.0 ** rng.randint(-20, 30) for _ in range(20_000)]
    for number in floats:
        assert canonical_json([number]) == legacy([number]), repr(number)


def test_a_lone_surrogate_fails_as_it_always_did() -> None:
    with pytest.raises(UnicodeEncodeError):
        legacy({"text": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        canonical_json({"text": "\ud800"})


@pytest.mark.parametrize(
    "actor", ["citizen:12.345.678-5", f"citizen:{SPANISH}", 'citizen:"\\\n\x01', "citizen:"]
)
def test_a_seal_is_the_hash_it_always_was(actor: str) -> None:
    salt = "0123456789abcdef" * 2
    formula = json.dumps([salt, actor], ensure_ascii=False).encode()
    assert seal_of(salt, actor) == hashlib.sha256(formula).hexdigest()


@pytest.mark.parametrize(
    ("actor", "data"),
    [
        ("citizen:12.345.678-5", {}),
        ("citizen:12.345.678-5", {"comment": SPANISH, "score": 4}),
        ("executive:11.111.111-1", {"before": 1795525200.25, "entries": 3, "tiny": 1e-9}),
        ("system", {"reason": "citizen_dropped", "by": "retention", "ok": [True, None]}),
    ],
)
def test_an_entry_hashes_as_entries_always_have(actor: str, data: dict[str, Any]) -> None:
    entry = chained_after(
        6, "b" * 64, new_entry(1795525200.125, "contact.ended", actor, "c1", "e:c1", data)
    )
    sealed = [entry.seal] if entry.seal else []
    person = entry.role if entry.seal else entry.actor
    fields = ["b" * 64, 7, "1795525200.125", "contact.ended", person, "c1", "e:c1", data]
    assert entry.hash == entry_hash(entry) == hashlib.sha256(legacy(fields + sealed)).hexdigest()
