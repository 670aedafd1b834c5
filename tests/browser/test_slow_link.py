"""A citizen on a 400 kbit/s link: quality shown, audio only suggested, chat still there.

The citizen's Chromium runs in a network namespace whose only way out is a veth pair
shaped to 400 kbit/s each way (``tests/servers/slow_link.py``); the executive's stays on
the host. Unlike DevTools throttling, this slows the WebRTC media too. Prerequisites: root,
iproute2 (``ip``, ``tc``) and a kernel with veth and the ``tbf`` qdisc; without them the
test fails saying which command did not work.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Page, expect

from branch.config import Queue
from tests.browser.conftest import OpenPerson, start_call
from tests.browser.test_call import CONNECTED
from tests.conftest import StartBranch
from tests.servers.slow_link import SlowLink

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

WEAK_HINT = (
    "Tu conexión está débil. Si el video se corta, cambia a solo audio: "
    "ahorra datos y la voz se escucha mejor."
)


async def audio_keeps_arriving(page: Page) -> None:
    before = await page.evaluate(AUDIO_PACKETS)
    await asyncio.sleep(1.0)
    after = await page.evaluate(AUDIO_PACKETS)
    # Opus sends 50 packets a second; 20 leaves room for a busy machine.
    assert after - before >= 20, f"audio packets received: {before} then {after}"


async def test_on_a_400_kbps_link_the_citizen_is_offered_audio_only_and_keeps_the_chat(
    slow_link: SlowLink,
    slow_browser: Browser,
    start_branch: StartBranch,
    open_person: OpenPerson,
) -> None:
    # (Fixtures tear down in reverse: pages, then the node, while its address still exists.)
    # The node listens where the namespace can reach it; the executive uses the same address.
    node = await start_branch(host=slow_link.host_address, queues=(GENERAL,))
    citizen = await open_person("citizen", in_browser=slow_browser)
    executive = await open_person("executive")
    page, epage = citizen.page, executive.page
    await start_call(citizen, executive, node.url)
    await page.wait_for_function(CONNECTED, timeout=20_000)
    contact = await page.evaluate("() => window.branchCall.contactId")
    # The media really crosses the shaped pair (the namespace has no other way out).
    assert await page.evaluate(MEDIA_ADDRESS) == slow_link.inner_address

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
