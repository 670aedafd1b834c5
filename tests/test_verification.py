"""The verification code: the word list, symmetry, and 40 bits from the fingerprints."""

from __future__ import annotations

import hashlib
import re

import pytest

from branch.verification import DOMAIN, normalize, verification_code, words

A = "AB:" * 31 + "CD"
B = "12:" * 31 + "34"


def test_the_word_list_has_1024_distinct_plain_words() -> None:
    listed = words()
    assert len(listed) == 1024 == len(set(listed))
    assert all(re.fullmatch(r"[a-z]{3,12}", word) for word in listed)


def test_both_ends_get_the_same_four_words() -> None:
    code = verification_code(A, B)
    assert code == verification_code(B, A)
    assert code == verification_code(A.lower(), B.replace(":", ""))
    assert len(code.split()) == 4 and all(word in words() for word in code.split())


def test_the_code_is_the_first_40_bits_of_the_hash_as_four_words() -> None:
    first, second = sorted((normalize(A), normalize(B)))
    digest = hashlib.sha256(DOMAIN + bytes.fromhex(first) + bytes.fromhex(second)).digest()
    bits = int.from_bytes(digest[:5], "big")
    expected = [words()[(bits >> shift) & 1023] for shift in (30, 20, 10, 0)]
    assert verification_code(A, B).split() == expected


def test_a_different_certificate_changes_the_code() -> None:
    other = "AB:" * 31 + "CE"
    assert verification_code(A, B) != verification_code(other, B)


@pytest.mark.parametrize("bad", ["", "zz:zz", "AB:C"])
def test_a_malformed_fingerprint_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        verification_code(bad, B)
