"""A weak mobile link: the citizen's first load is small, all from the branch, and cached."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from branch.config import Queue
from tests.browser.conftest import OpenPerson
from tests.conftest import CITIZEN_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

GENERAL = Queue("general", "Atención general")
BUDGET = 150 * 1024  # bytes on the wire for the citizen page's first load


async def test_the_citizen_page_first_load_is_small_local_and_revalidated(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(GENERAL,))
    citizen = await open_person("citizen")
    page = citizen.page
    await page.goto(node.url + "/login?next=/citizen")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await expect(page.get_by_role("heading", name="¿En qué te podemos ayudar?")).to_be_visible()

    cdp = await citizen.context.new_cdp_session(page)
    urls: dict[str, str] = {}
    sizes: dict[str, float] = {}
    statuses: dict[str, int] = {}

    def sent(event: dict[str, Any]) -> None:
        urls[event["requestId"]] = event["request"]["url"]

    def answered(event: dict[str, Any]) -> None:
        statuses[event["requestId"]] = event["response"]["status"]

    def finished(event: dict[str, Any]) -> None:
        sizes[event["requestId"]] = event["encodedDataLength"]

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", answered)
    cdp.on("Network.loadingFinished", finished)
    await cdp.send("Network.enable")
    # A first visit: nothing in the cache.
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    await page.goto(node.url + "/citizen", wait_until="networkidle")
    await expect(page.get_by_role("heading", name="¿En qué te podemos ayudar?")).to_be_visible()
    first = sum(sizes.values())
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(node.url))
    foreign = sorted(
        url
        for url in urls.values()
        if not url.startswith((origin, "wss://" + urlsplit(node.url).netloc, "data:"))
    )
    assert foreign == [], "third-party requests"
    assert 0 < first <= BUDGET, f"first load {first / 1024:.1f} KB > {BUDGET / 1024:.0f} KB"
    print(f"citizen page first load: {first / 1024:.1f} KB in {len(sizes)} responses")

    # The next visit revalidates the modules and styles (304): far less moves.
    for seen in (urls, sizes, statuses):
        seen.clear()
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    await page.reload(wait_until="networkidle")
    await expect(page.get_by_role("heading", name="¿En qué te podemos ayudar?")).to_be_visible()
    # (Chromium fetches the favicon and fetch()ed catalogs by its own rules; the modules and
    # styles are what weighs.)
    code = {rid: status for rid, status in statuses.items() if urls[rid].endswith((".js", ".css"))}
    fresh = sorted(urls[rid] for rid, status in code.items() if status != 304)
    assert len(code) >= 8 and fresh == [], "downloaded again instead of revalidated"
    again = sum(sizes.values())
    assert again < first / 2, f"the second visit moved {again / 1024:.1f} KB"
