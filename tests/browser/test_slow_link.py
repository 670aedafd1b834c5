"""A citizen on a 400 kbit/s link: quality shown, audio only suggested, chat still there.

The citizen's Chromium runs in a network namespace whose only way out is a veth pair
shaped to 400 kbit/s each way, or one way only (``tests/servers/slow_link.py``); the
executive's stays on the host. Unlike DevTools throttling, this slows the WebRTC media too.
The indicator must follow the slow direction, whichever it is, and say nothing bad of a good
link. Prerequisites: root, iproute2 (``ip``, ``tc``) and a kernel with veth and the ``tbf``
qdisc; without them the test fails saying which command did not work.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from playwright.async_api import Browser, Page, expect

from branch.config import Queue
from tests.browser.conftest import OpenPerson, Person, start_call
from tests.browser.test_call import CONNECTED
from tests.conftest import StartBranch
from tests.servers.slow_link import Shaping, SlowLink

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

GENERAL = Queue("general", "Atención general")

# The local address of the candidate pair the media takes, as the page sees it.
MEDIA_ADDRESS = """async () => {
  const stats = await window.branchCall.pc.getStats();
  let address = null;
  stats.forEach((report) => {
    if (report.type === "transport" && report.selectedCandidatePairId) {
      const pair = stats.get(report.selectedCandidatePairId);
      address = stats.get(pair.localCandidateId).address;
    }
  });
  return address;
}"""

# Audio packets received so far in the active call.
AUDIO_PACKETS = """async () => {
  let packets = 0;
  (await window.branchCall.pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "audio") packets += report.packetsReceived;
  });
  return packets;
}"""

# The video received so far in the active call: bytes, and the report's time in ms.
VIDEO_RECEIVED = """async () => {
  let received = null;
  (await window.branchCall.pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "video") {
      received = { bytes: report.bytesReceived, at: report.timestamp };
    }
  });
  return received;
}"""

# The meter's last verdict on each direction ("receive" is null until video is judged).
VERDICTS = (
    "() => ({ send: window.branchCall.meter.send, receive: window.branchCall.meter.receive })"
)

# Every text the indicator shows from now on, in order, with the meter's figures behind it.
RECORD_QUALITY = """() => {
  const element = document.querySelector("#call-quality");
  const meter = () => window.branchCall.meter;
  const shown = () => ({ text: element.textContent, send: meter().send,
    receive: meter().receive, figures: meter().figures });
  window.qualityShown = [shown()];
  new MutationObserver(() => window.qualityShown.push(shown()))
    .observe(element, { childList: true, characterData: true, subtree: true });
}"""

WEAK_HINT = (
    "Tu conexión está débil. Si el video se corta, cambia a solo audio: "
    "ahorra datos y la voz se escucha mejor."
)


async def received_video_kbps(page: Page, seconds: float = 2.0) -> float:
    before = await page.evaluate(VIDEO_RECEIVED)
    await asyncio.sleep(seconds)
    after = await page.evaluate(VIDEO_RECEIVED)
    return float((after["bytes"] - before["bytes"]) * 8 / (after["at"] - before["at"]))


async def verdicts_become(page: Page, timeout: float, **expected: tuple[str, ...]) -> None:
    """Poll the meter until each direction's last verdict is one of those expected."""
    seen: dict[str, str | None] = {}
    for _attempt in range(int(timeout * 2)):
        seen = await page.evaluate(VERDICTS)
        if all(seen[direction] in allowed for direction, allowed in expected.items()):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the meter said {seen}, not one of {expected}")


async def audio_keeps_arriving(page: Page) -> None:
    before = await page.evaluate(AUDIO_PACKETS)
    await asyncio.sleep(1.0)
    after = await page.evaluate(AUDIO_PACKETS)
    # Opus sends 50 packets a second; 20 leaves room for a busy machine.
    assert after - before >= 20, f"audio packets received: {before} then {after}"


@pytest.fixture
async def slow_call(
    slow_link: SlowLink,
    slow_browser: Browser,
    start_branch: StartBranch,
    open_person: OpenPerson,
) -> tuple[Person, Person]:
    """The citizen (behind the slow link) and the executive, their call connected."""
    # (Fixtures tear down in reverse: pages, then the node, while its address still exists.)
    # The node listens where the namespace can reach it; the executive uses the same address.
    node = await start_branch(host=slow_link.host_address, queues=(GENERAL,))
    citizen = await open_person("citizen", in_browser=slow_browser)
    executive = await open_person("executive")
    await start_call(citizen, executive, node.url)
    await citizen.page.wait_for_function(CONNECTED, timeout=20_000)
    # The media really crosses the shaped pair (the namespace has no other way out).
    assert await citizen.page.evaluate(MEDIA_ADDRESS) == slow_link.inner_address
    return citizen, executive


async def test_on_a_400_kbps_link_the_citizen_is_offered_audio_only_and_keeps_the_chat(
    slow_call: tuple[Person, Person],
) -> None:
    citizen, executive = slow_call
    page, epage = citizen.page, executive.page
    contact = await page.evaluate("() => window.branchCall.contactId")

    # The browser's own measurements of the link make the indicator say it is weak,
    # and after two weak samples in a row the page suggests audio only.
    await expect(page.locator("#call-quality")).to_have_text("débil", timeout=30_000)
    hint = page.get_by_role("status").filter(has_text="Tu conexión está débil")
    await expect(hint).to_be_visible(timeout=15_000)
    await expect(hint.locator("p")).to_have_text(WEAK_HINT)
    await citizen.shot("weak-link-hint")

    # Accepting it: video stops, the call goes on with audio both ways.
    await hint.get_by_role("button", name="Cambiar a solo audio").click()
    await expect(page.get_by_role("button", name="Volver al video")).to_be_visible()
    await expect(hint).to_be_hidden()
    await expect(epage.get_by_role("status").filter(has_text="cambió a solo audio")).to_be_visible()
    assert await page.evaluate("() => window.branchCall.tracksOf('video').length") == 0
    assert await page.evaluate("() => window.branchCall.pc.connectionState") == "connected"
    assert await epage.evaluate("() => window.branchCall.pc.connectionState") == "connected"
    await audio_keeps_arriving(page)
    await audio_keeps_arriving(epage)
    # Audio alone fits the link: the indicator no longer calls it weak.
    await expect(page.locator("#call-quality")).to_have_text("buena", timeout=15_000)
    await expect(hint).to_be_hidden()

    # And the chat, the last resort, works both ways over the same slow link.
    await page.get_by_label("Escribe un mensaje").fill("¿Me escucha?")
    await page.get_by_label("Escribe un mensaje").press("Enter")
    await expect(epage.locator("#chat-log")).to_contain_text("¿Me escucha?")
    await epage.get_by_label("Escribe un mensaje").fill("Sí, por el chat también")
    await epage.get_by_label("Escribe un mensaje").press("Enter")
    await expect(page.locator("#chat-log")).to_contain_text("Sí, por el chat también")
    # All of it inside the one contact: nothing was restarted by the slow link.
    assert await page.evaluate("() => window.branchCall.contactId") == contact
    assert await page.evaluate("() => window.branchCall.pc.connectionState") == "connected"
    await citizen.shot("weak-link-audio-only-chat")


@pytest.mark.parametrize("slow_link", [Shaping(upload=False)], ids=["download"], indirect=True)
async def test_a_slow_download_alone_makes_the_citizens_indicator_drop(
    slow_call: tuple[Person, Person],
) -> None:
    # Only what reaches the citizen is shaped: their own send estimate stays high, so the
    # indicator can only learn of it from the executive's video as it arrives.
    citizen, _executive = slow_call
    page = citizen.page
    # The received video is judged once its first 15 s are past.
    await verdicts_become(page, 45, send=("good",), receive=("fair", "poor"))
    await expect(page.locator("#call-quality")).to_have_text(re.compile("^(regular|débil)$"))
    # What the citizen sees really is squeezed: a good link brings 430-520 kbit/s.
    assert await received_video_kbps(page) < 350
    await citizen.shot("slow-download")


@pytest.mark.parametrize("slow_link", [Shaping(download=False)], ids=["upload"], indirect=True)
async def test_a_slow_upload_alone_is_still_called_weak(
    slow_call: tuple[Person, Person],
) -> None:
    citizen, _executive = slow_call
    page = citizen.page
    await expect(page.locator("#call-quality")).to_have_text("débil", timeout=30_000)
    # The executive's video reaches the citizen whole: the weakness is the upload's.
    await verdicts_become(page, 30, send=("poor",), receive=("good",))
    await expect(page.locator("#call-quality")).to_have_text("débil")


async def test_a_good_link_stays_good_also_with_the_executives_camera_off(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(GENERAL,))
    citizen = await open_person("citizen")
    executive = await open_person("executive")
    page, epage = citizen.page, executive.page
    await start_call(citizen, executive, node.url)
    await page.wait_for_function(CONNECTED, timeout=20_000)
    await page.evaluate(RECORD_QUALITY)
    # The first samples of a call may read below good on a busy machine while it settles.
    try:
        await expect(page.locator("#call-quality")).to_have_text("buena", timeout=30_000)
    except AssertionError:
        print("shown:", json.dumps(await page.evaluate("() => window.qualityShown")))
        raise

    # Past the received video's warm-up, both directions are judged, and found good.
    await verdicts_become(page, 30, send=("good",), receive=("good",))
    # Black frames cost next to nothing, and nothing of them is visible: a low rate (and,
    # on a busy machine, an irregular one) that must not read as a slow download.
    await epage.get_by_role("button", name="Apagar cámara").click()
    await expect(epage.get_by_role("button", name="Encender cámara")).to_be_visible()
    await asyncio.sleep(3.5)
    assert await received_video_kbps(page) < 50
    for _sample in range(3):
        await asyncio.sleep(3.0)
        verdicts = await page.evaluate(VERDICTS)
        figures = await page.evaluate("() => window.branchCall.meter.figures")
        assert verdicts == {"send": "good", "receive": None}, json.dumps(figures)
    shown = await page.evaluate("() => window.qualityShown")
    texts = [entry["text"] for entry in shown]
    # Once good, every sample stayed good: before, through and after the camera going off.
    assert texts[texts.index("buena") :] == ["buena"], json.dumps(shown)
