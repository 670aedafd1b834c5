"""In the call: audio only to save data, back to video, and the camera switch on phones."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, WebSocketRoute, expect

from branch.web.app import SERVICE
from tests.browser.conftest import OpenPerson, start_call
from tests.browser.test_call import FRAMES_DECODED, assert_video_flows
from tests.conftest import StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# A phone has a front and a back camera; Chromium's fake device is one. The
# second entry lets the page offer the switch; getUserMedia still answers with
# the fake camera, as a phone answers with the other one.
TWO_CAMERAS = """
(() => {
  const devices = navigator.mediaDevices;
  const original = devices.enumerateDevices.bind(devices);
  devices.enumerateDevices = async () => {
    const found = await original();
    const camera = found.find((d) => d.kind === "videoinput");
    return camera ? [...found, { ...camera.toJSON(), deviceId: "back", label: "back" }] : found;
  };
})();
"""

SENT_VIDEO_TRACK = "() => window.branchCall?.videoSender()?.track?.id ?? null"


SAMPLE_SECONDS = 0.25
STILL_SAMPLES = 6  # 1.5 s without a new frame: video has stopped, not hiccupped
WITHIN_SECONDS = 10.0


async def frames_rise(page: Page) -> bool:
    """Whether the decoded frame count grows within a few seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WITHIN_SECONDS
    first = await page.evaluate(FRAMES_DECODED)
    while loop.time() < deadline:
        await asyncio.sleep(SAMPLE_SECONDS)
        if await page.evaluate(FRAMES_DECODED) > first:
            return True
    return False


async def frames_stop(page: Page) -> bool:
    """Whether the decoded frame count stays the same for a few samples in a row.

    Frames already on their way when the video stopped still arrive; polling waits
    them out instead of guessing how long they take.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WITHIN_SECONDS
    last, still = await page.evaluate(FRAMES_DECODED), 0
    while loop.time() < deadline:
        await asyncio.sleep(SAMPLE_SECONDS)
        count = await page.evaluate(FRAMES_DECODED)
        still = still + 1 if count == last else 0
        last = count
        if still >= STILL_SAMPLES:
            return True
    return False


async def without_audio_only_repeat(socket: WebSocketRoute) -> None:
    """Relay the page's websocket, except the server's ``call.audio_only`` saying true."""
    server = socket.connect_to_server()

    def to_page(message: str | bytes) -> None:
        text = message if isinstance(message, str) else message.decode()
        if '"type":"call.audio_only"' in text and '"audioOnly":true' in text:
            return
        socket.send(message)

    server.on_message(to_page)


class DroppableSocket:
    """Relays a page's websocket and can drop it, as a weak link drops it mid-call."""

    def __init__(self) -> None:
        self.routes: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        self.welcomes = 0

    def __call__(self, socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def to_page(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            if '"type":"welcome"' in text[:200]:
                self.welcomes += 1
            socket.send(message)

        server.on_message(to_page)
        self.routes.append((socket, server))

    async def drop(self) -> None:
        socket, server = self.routes[-1]
        await server.close()
        await socket.close(code=1012, reason="dropped by the test")


async def test_audio_only_and_camera_switch(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    citizen = await open_person("citizen", init_script=TWO_CAMERAS)
    executive = await open_person("executive")
    page, epage = citizen.page, executive.page
    citizen_socket = DroppableSocket()
    await page.route_web_socket("**/ws", citizen_socket)
    await start_call(citizen, executive, node.url)
    await assert_video_flows(epage)
    await expect(page.locator("#call-quality")).not_to_have_text("—", timeout=10_000)

    # Audio only: no video either way, the camera is released, the call goes on.
    await page.get_by_role("button", name="Solo audio").click()
    await expect(page.get_by_role("button", name="Volver al video")).to_be_visible()
    await expect(page.locator("#self-video")).to_be_hidden()
    assert await frames_stop(epage), "the executive still receives video"
    assert await frames_stop(page), "the citizen still receives video"
    assert await page.evaluate("window.branchCall.pc.connectionState") == "connected"
    assert await page.evaluate("window.branchCall.tracksOf('video').length") == 0
    # The executive is told why the video stopped, in a status the screen reader reads.
    notice = epage.get_by_role("status").filter(has_text="cambió a solo audio")
    await expect(notice).to_have_text(
        "La persona cambió a solo audio para ahorrar datos: por eso no ves su video. "
        "Se siguen escuchando."
    )
    await expect(epage.locator("html")).to_have_attribute("lang", "es-CL")
    await expect(epage.locator("#remote-video")).to_have_class("remote audio-only")
    await citizen.shot("audio-only")
    await executive.shot("audio-only-notice")
    # Only the citizen's socket drops and comes back, the call going on: the server
    # takes the page back as one with its video on, so the page says it again.
    contact_id = await page.evaluate("() => window.branchCall.contactId")
    await citizen_socket.drop()
    for _attempt in range(150):
        if citizen_socket.welcomes >= 2:
            break
        await asyncio.sleep(0.1)
    assert citizen_socket.welcomes >= 2, "the citizen's page did not reconnect"
    live = node.app[SERVICE].live
    for _attempt in range(50):
        call = await live.call(contact_id)
        if call is not None and call.audio_only:
            break
        await asyncio.sleep(0.1)
    assert call is not None and call.audio_only, "the server forgot the call is audio only"
    await expect(epage.locator("#peer-media")).to_contain_text("cambió a solo audio")
    # A reloaded desk shows it from its welcome, even if the citizen's repeat never came:
    # the desk's new socket is not passed the citizen's "audio only" this time.
    await epage.route_web_socket("**/ws", without_audio_only_repeat)
    await epage.reload()
    await expect(epage.locator("#peer-media")).to_contain_text("cambió a solo audio")
    await expect(epage.locator("#agent-state")).to_have_text("En llamada")
    # The desk's new connection stays audio only both ways.
    await epage.wait_for_function("() => window.branchCall?.pc.connectionState === 'connected'")
    assert await frames_stop(page), "the citizen receives video again after the reload"

    await page.get_by_role("button", name="Volver al video").click()
    await expect(page.get_by_role("button", name="Solo audio")).to_be_visible()
    await expect(epage.locator("#peer-media")).to_have_text("La persona volvió a activar su video.")
    await expect(epage.locator("#remote-video")).to_have_class("remote")
    await assert_video_flows(epage)
    await assert_video_flows(page)

    # The camera switch replaces the track being sent; the executive keeps seeing video.
    switch = page.get_by_role("button", name="Cambiar cámara")
    await expect(switch).to_be_visible()
    before = await page.evaluate(SENT_VIDEO_TRACK)
    await switch.click()
    await page.wait_for_function(
        "(before) => (window.branchCall?.videoSender()?.track?.id ?? null) !== before", arg=before
    )
    assert await frames_rise(epage)
