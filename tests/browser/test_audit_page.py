"""The auditors' page in Chromium: the chain's verdict, contacts, one contact, the trail."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from branch.web.app import RECORDS
from tests.browser.conftest import OpenPerson
from tests.conftest import AUDITOR_RUN, CITIZEN_RUN, StartBranch
from tests.web.test_audit_api import a_served_contact

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def test_an_auditor_reads_records_and_the_verified_trail(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    await a_served_contact(node.app[RECORDS])

    auditor = await open_person("auditor")
    page = auditor.page
    await page.goto(f"{node.url}/login?next=/audit")
    await auditor.log_in(AUDITOR_RUN, "Ana", "Auditora")
    verdict = page.locator("#verdict")
    await expect(verdict).to_have_attribute("data-state", "ok")
    await expect(verdict).to_contain_text("La cadena verifica: 2 entradas")
    row = page.locator("#contacts tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(f"{CITIZEN_RUN} · Ana Rojas")
    await row.get_by_role("button", name="Ver").click()
    await expect(page.locator("#contact-chat")).to_contain_text("citizen: ¿me escucha?")
    await expect(page.locator("#contact-trail")).to_contain_text("records.read")
    await expect(page.locator("#trail tbody tr").first).to_contain_text("contact.joined")
    await auditor.shot("spanish")

    # A head that is not this chain's is reported as a break, in English too.
    await page.goto(f"{node.url}/audit?lang=en")
    await expect(page.locator("h1")).to_have_text("Audit")
    await page.fill("#head", f"2:{'0' * 64}")
    await page.get_by_role("button", name="Verify").click()
    await expect(verdict).to_have_attribute("data-state", "broken")
    await expect(verdict).to_have_text(
        "The chain is broken at entry 2: differs from the recorded head"
    )
    await auditor.shot("english")
    # The switch writes what is shown again in Spanish, without asking the API again.
    await page.get_by_role("button", name="Ver esta página en español").click()
    await expect(verdict).to_have_text(
        "La cadena está rota en la entrada 2: differs from the recorded head"
    )
    await expect(row.get_by_role("button", name="Ver")).to_be_visible()
    await expect(page.locator("#contacts-status")).to_contain_text("1 atención entre el")

    # The citizen's page has no live floor for an auditor: it sends them here, once.
    await page.goto(f"{node.url}/citizen")
    await page.wait_for_url(f"{node.url}/audit")
    await expect(page.locator("h1")).to_have_text("Auditoría")
