"""The session cookie is read from the header as aiohttp's parser reads it, without caching it."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from branch.auth.sessions import COOKIE_NAME
from branch.web.auth import session_cookie

SIGNED = "c2Vzc2lvbi1pZA.f00dbabe"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ""),
        ("", ""),
        (f"{COOKIE_NAME}={SIGNED}", SIGNED),
        (f"theme=dark; {COOKIE_NAME}={SIGNED}; lang=es", SIGNED),
        (f"theme=dark;{COOKIE_NAME}={SIGNED}", SIGNED),
        (f'{COOKIE_NAME}="{SIGNED}"', SIGNED),
        (f"{COOKIE_NAME}=old; {COOKIE_NAME}={SIGNED}", SIGNED),  # the last one, as aiohttp
        (f"x{COOKIE_NAME}={SIGNED}", ""),  # another cookie whose name ends like ours
        (f"{COOKIE_NAME}", ""),  # no value at all
        (f"{COOKIE_NAME}=", ""),
        (f"  {COOKIE_NAME} = {SIGNED} ", SIGNED),
    ],
)
def test_the_session_cookie_is_what_aiohttp_parses(header: str | None, expected: str) -> None:
    headers = {} if header is None else {"Cookie": header}
    request = make_mocked_request("GET", "/ws", headers=headers)
    assert session_cookie(request) == expected
    assert request.cookies.get(COOKIE_NAME, "") == expected
