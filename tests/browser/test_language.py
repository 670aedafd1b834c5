"""The pages speak the browser's language (es-CL or en), switch on request and remember it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from branch.config import Queue
from tests.browser.conftest import OpenPerson
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# Room for one person: the second citizen is refused by the server with "queue_full".
SECOND_CITIZEN_RUN = "13.131.313-6"
SMALL = Queue("general", "Atención general", name_en="General service", max_waiting=1)


async def test_the_landing_page_follows_the_browser_and_the_switch_is_remembered(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    visitor = await open_person("citizen", locale="en-US")
    page = visitor.page

    await page.goto(node.url + "/")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Online Branch")
    await expect(page.get_by_role("link", name="Log in with ClaveÚnica")).to_be_visible()
    assert await page.title() == "Online Branch"
    switch = page.get_by_role("button", name="Ver esta página en español")
    await expect(switch).to_have_text("Español")
    await expect(switch).to_have_attribute("lang", "es-CL")
    await visitor.shot("english")

    await switch.click()
    await expect(page.locator("html")).to_have_attribute("lang", "es-CL")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sucursal en Línea")
    await expect(page.get_by_role("button", name="Read this page in English")).to_have_text(
        "English"
    )
    # The choice outlives the page: the next page and a reload stay in Spanish.
    await page.reload()
    await expect(page.get_by_role("heading", name="¿Cómo funciona?")).to_be_visible()
    await page.goto(node.url + "/login?next=/citizen")
    await expect(page.get_by_role("heading", name="Ingreso de desarrollo")).to_be_visible()


async def test_an_english_citizen_is_served_in_english_and_can_switch_while_waiting(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(SMALL,))
    first = await open_person("citizen")
    second = await open_person("citizen", locale="en-GB")
    executive = await open_person("executive", locale="en-US")
    page = second.page

    # The development login speaks English too, its own complaints included.
    await page.goto(node.url + "/login?next=/citizen")
    await expect(page.get_by_role("heading", name="Development login")).to_be_visible()
    await second.log_in("12.345", "Mary", "Jones")
    await expect(page.get_by_role("alert")).to_have_text(
        "Type the RUN with its check digit, for example 44.444.444-4"
    )
    await second.log_in(SECOND_CITIZEN_RUN, "Mary", "Jones")
    await expect(page.get_by_role("heading", name="How can we help you?")).to_be_visible()
    await expect(page.locator("#reason-count")).to_have_text("0 of 500 characters")
    await page.get_by_label("Tell us briefly what it is about").fill("Hello")
    await expect(page.locator("#reason-count")).to_have_text("5 of 500 characters")

    # The line fills up while she chooses: the server refuses her, the page says why in English.
    await first.join_queue(node.url, CITIZEN_RUN)
    await expect(page.locator("#service-status")).to_have_text(
        "The line for General service is full right now (1 person waiting). "
        "Please try again in a few minutes."
    )
    await page.get_by_label("Reason for your contact").select_option("ges")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("#device-status")).to_have_text("Your camera and microphone work.")
    await page.get_by_role("button", name="Join the line").click()
    await expect(page.locator("#error")).to_have_text(
        "The line for General service is full right now (1 person waiting). "
        "Please try again in a few minutes."
    )
    await second.shot("refused-in-english")

    # The first leaves; she joins and reads her place in English, then switches to Spanish.
    await first.page.get_by_role("button", name="Salir de la fila").click()
    await expect(page.locator("#service-status")).to_be_hidden()
    await page.get_by_role("button", name="Join the line").click()
    await expect(page.locator("#position")).to_have_text("You are next in line")
    await expect(page.locator("#waiting-count")).to_have_text("1 person")
    await expect(page.locator("#waiting-service")).to_have_text("General service")
    await page.get_by_role("button", name="Ver esta página en español").click()
    await expect(page.locator("#position")).to_have_text("Eres el siguiente en la fila")
    await expect(page.locator("#waiting-count")).to_have_text("1 persona")
    await expect(page.locator("#waiting-service")).to_have_text("Atención general")
    await expect(page.get_by_role("heading", level=1, name="Estás en la fila")).to_be_visible()
    await second.shot("switched-to-spanish")

    # The executive's desk follows its own browser: English.
    await executive.page.goto(node.url + "/login?next=/executive")
    await executive.log_in(EXECUTIVE_RUN, "Juan", "Soto")
    await expect(executive.page.locator("#agent-state")).to_have_text("Not available")
    await expect(executive.page.locator("#queue-waiting")).to_have_text("1 person in line")
    await executive.page.get_by_role("button", name="Available", exact=True).click()
    await expect(executive.page.get_by_role("heading", name="New contact")).to_be_visible()
    await expect(
        page.get_by_role("heading", name="Te estamos conectando con un ejecutivo")
    ).to_be_visible()
    await executive.shot("offer-in-english")
