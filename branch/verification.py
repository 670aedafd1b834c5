"""The call's verification code: four Spanish words both people read aloud.

Each side derives the code from the two DTLS certificate fingerprints of the
connection it actually established. Without a man in the middle both sides
see the same two certificates and get the same words; with one, each side's
connection ends at the attacker and the codes differ. Four words from 1,024
carry 40 bits, so an attacker who controls signaling and grinds certificates
would need around 2^40 tries per call to make both codes match in time.
The pages compute the same thing in ``static/js/verify.js``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path

WORDS_FILE = Path(__file__).resolve().parents[1] / "static" / "words" / "es.txt"
WORD_BITS = 10
CODE_WORDS = 4
# Versioned, so a future change of derivation never yields a confusable code.
DOMAIN = b"branch-verification-v1"


@functools.cache
def words() -> tuple[str, ...]:
    listed = tuple(WORDS_FILE.read_text(encoding="utf-8").split())
    if len(listed) != 1 << WORD_BITS or len(set(listed)) != len(listed):
        raise RuntimeError(f"{WORDS_FILE} must hold {1 << WORD_BITS} distinct words")
    return listed


def normalize(fingerprint: str) -> str:
    """ "ab:cd:…" (any case) → "ABCD…"; ValueError when it is not hex."""
    text = fingerprint.replace(":", "").strip().upper()
    bytes.fromhex(text)
    if not text:
        raise ValueError("an empty fingerprint")
    return text


def verification_code(
    local_fingerprint: str, remote_fingerprint: str, vocabulary: Sequence[str] | None = None
) -> str:
    """The same four words on both ends of one connection, whichever end asks."""
    vocabulary = vocabulary or words()
    first, second = sorted((normalize(local_fingerprint), normalize(remote_fingerprint)))
    digest = hashlib.sha256(DOMAIN + bytes.fromhex(first) + bytes.fromhex(second)).digest()
    bits = int.from_bytes(digest[:5], "big")  # 40 bits
    indices = [
        (bits >> (WORD_BITS * (CODE_WORDS - 1 - position))) & ((1 << WORD_BITS) - 1)
        for position in range(CODE_WORDS)
    ]
    return " ".join(vocabulary[index] for index in indices)
