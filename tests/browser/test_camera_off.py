"""In the call: each side is told when the other turns its camera off, and back on."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import OpenPerson, Person, start_call
from tests.browser.test_call import assert_video_flows
from tests.conftest import StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# The page samples the link every 3 s: two samples judge a picture, if it is judged at all.
SAMPLES_MS = 7_000
JUDGED = "() => ({ expected: window.branchCall.receivingVideo, receive: window.branchCall.meter.receive })"


async def judged_after_samples(page: Page) -> dict[str, object]:
    """What the quality meter makes of the other side's picture, two samples from now."""
    await page.wait_for_timeout(SAMPLES_MS)
    result: dict[str, object] = await page.evaluate(JUDGED)
    return result


async def in_a_call(start_branch: StartBranch, open_person: OpenPerson) -> tuple[Person, Person]:
    """A citizen and an executive in a call, the executive's video reaching the citizen."""
    node = await start_branch()
    citizen = await open_person("citizen")
    executive = await open_person("executive")
    await start_call(citizen, executive, node.url)
    await assert_video_flows(citizen.page)
    return citizen, executive


async def test_the_citizen_is_told_the_executives_camera_is_off_and_back_on(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    citizen, executive = await in_a_call(start_branch, open_person)
    page, epage = citizen.page, executive.page
    notice = page.locator("#peer-media")
    await expect(notice).to_be_hidden()

    await epage.get_by_role("button", name="Apagar cámara").click()
    await expect(epage.get_by_role("button", name="Encender cámara")).to_be_visible()
    await expect(notice).to_be_visible()
    await expect(notice).to_have_text("La cámara del ejecutivo está apagada.")
    await expect(notice).to_have_attribute("role", "status")
    # Its black frames are no picture to judge: only what the citizen sends counts.
    assert await judged_after_samples(page) == {"expected": False, "receive": None}
    await expect(page.locator("#call-quality")).not_to_have_text("—")
    await citizen.shot("executive-camera-off")
    # In English too, the switch rewriting what is shown.
    await page.get_by_role("button", name="Read this page in English").click()
    await expect(notice).to_have_text("The executive's camera is off.")
    await page.get_by_role("button", name="Ver esta página en español").click()
    await expect(notice).to_have_text("La cámara del ejecutivo está apagada.")

    await epage.get_by_role("button", name="Encender cámara").click()
    await expect(notice).to_be_hidden()
    await assert_video_flows(page)
    assert (await page.evaluate(JUDGED))["expected"] is True

    # The other way round: the executive's desk is told of the citizen's camera.
    desk = epage.locator("#peer-media")
    await page.get_by_role("button", name="Apagar cámara").click()
    await expect(desk).to_have_text("La cámara de la persona está apagada.")
    assert (await epage.evaluate(JUDGED))["expected"] is False
    await page.get_by_role("button", name="Encender cámara").click()
    await expect(desk).to_be_hidden()
    assert (await epage.evaluate(JUDGED))["expected"] is True


async def test_a_reloaded_page_is_told_again(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    citizen, executive = await in_a_call(start_branch, open_person)
    page, epage = citizen.page, executive.page
    await epage.get_by_role("button", name="Apagar cámara").click()
    await expect(page.locator("#peer-media")).to_have_text("La cámara del ejecutivo está apagada.")

    # The citizen's new page knows nothing of it: the desk says it again on call.resumed.
    await page.reload()
    await page.wait_for_function("() => window.branchCall?.pc.connectionState === 'connected'")
    await expect(page.locator("#peer-media")).to_have_text("La cámara del ejecutivo está apagada.")
    assert (await page.evaluate(JUDGED))["expected"] is False

    # And a reloaded desk hears it of the citizen's camera.
    await page.get_by_role("button", name="Apagar cámara").click()
    await expect(epage.locator("#peer-media")).to_have_text("La cámara de la persona está apagada.")
    await epage.reload()
    await epage.wait_for_function("() => window.branchCall?.pc.connectionState === 'connected'")
    await expect(epage.locator("#peer-media")).to_have_text("La cámara de la persona está apagada.")
    assert (await epage.evaluate(JUDGED))["expected"] is False
    # The desk's new page starts with its camera on: the citizen's page takes it so.
    await expect(page.locator("#peer-media")).to_be_hidden()
