"""Phones and tablets: the citizen's pages at common sizes, both ways round, with screenshots
in test-artifacts/; nothing scrolls sideways and every control is at least 44 px."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from branch.config import Queue
from tests.browser.conftest import OpenPerson, Person
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

GENERAL = Queue("general", "Atención general")
VIEWPORTS = [(360, 640), (390, 844), (768, 1024), (1024, 768), (1366, 768)]

# Visible controls smaller than 44 x 44 CSS px (a radio or checkbox counts by its label).
SMALL_CONTROLS = """() => {
  const small = [];
  const controls = document.querySelectorAll(
    "button, select, textarea, input:not([type=hidden]), a.button, a.skip:focus");
  for (const control of controls) {
    const target = ["radio", "checkbox"].includes(control.type)
      ? control.closest("label") ?? control.parentElement : control;
    const box = target.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;  // not shown
    if (box.width < 44 || box.height < 44) {
      small.push(`${control.id || control.name || control.textContent.trim()}: ` +
                 `${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return small;
}"""

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter((element) => element.getClientRects().length)
    .filter((element) => element.getBoundingClientRect().right > width + 1)
    .map((element) => element.id || element.className || element.tagName);
  return { scroll: document.documentElement.scrollWidth - width, wide: wide.slice(0, 5) };
}"""


async def check_layouts(person: Person, state: str) -> None:
    """At every size: no sideways scrolling, no small control; a screenshot of each."""
    page: Page = person.page
    for width, height in VIEWPORTS:
        await page.set_viewport_size({"width": width, "height": height})
        overflow = await page.evaluate(OVERFLOW)
        assert overflow == {"scroll": 0, "wide": []}, f"{state} at {width}x{height}: {overflow}"
        small = await page.evaluate(SMALL_CONTROLS)
        assert small == [], f"{state} at {width}x{height}: controls under 44 px: {small}"
        await person.shot(f"{state}-{width}x{height}")


async def test_the_citizen_pages_fit_phones_and_tablets_and_the_call_survives_rotation(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(GENERAL,))
    citizen = await open_person("citizen")
    executive = await open_person("executive")
    page = citizen.page

    await page.goto(node.url + "/")
    await check_layouts(citizen, "landing")
    await page.goto(node.url + "/login?next=/citizen")
    await check_layouts(citizen, "login")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await page.get_by_label("Motivo de tu consulta").select_option("ges")
    await check_layouts(citizen, "reason")
    await page.get_by_role("button", name="Continuar").click()
    await expect(page.locator("#join")).to_be_enabled()
    await check_layouts(citizen, "device-check")
    await page.get_by_role("button", name="Ponerme en la fila").click()
    await expect(page.locator("#waiting-folio")).not_to_have_text("—")
    await check_layouts(citizen, "waiting")

    await executive.go_available(node.url, EXECUTIVE_RUN)
    await executive.page.get_by_role("button", name="Aceptar").click()
    connected = "() => window.branchCall?.pc.connectionState === 'connected'"
    await page.wait_for_function(connected)
    # Turning the phone round and back (and on to a tablet) keeps the same call up.
    call_id = await page.evaluate("() => window.branchCall.contactId")
    await check_layouts(citizen, "in-call")
    assert await page.evaluate("() => window.branchCall.pc.connectionState") == "connected"
    assert await page.evaluate("() => window.branchCall.contactId") == call_id
    await check_layouts(executive, "desk-call")

    await page.get_by_role("button", name="Colgar").click()
    await expect(page.locator("#survey-form")).to_be_visible()
    await check_layouts(citizen, "receipt-survey")
