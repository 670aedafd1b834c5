"""The reports page in Chromium over the scripted day: the figures, the charts, filters, English."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from branch.config import load_settings
from branch.web.app import RECORDS
from tests.browser.conftest import OpenPerson
from tests.conftest import SUPERVISOR_RUN, StartBranch
from tests.scripted_day import DAY_TEXT, QUEUES_JSON, load_day

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def bars(page: Page, chart: str) -> list[tuple[str | None, str | None, str | None]]:
    """(category, series, value) of every bar the chart drew."""
    rows: list[tuple[str | None, str | None, str | None]] = await page.eval_on_selector_all(
        f"#{chart} rect.bar",
        "rects => rects.map(r => [r.dataset.category, r.dataset.series, r.dataset.value])",
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_the_scripted_day_on_the_reports_page(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=load_settings({"BRANCH_QUEUES": QUEUES_JSON}).queues)
    await load_day(node.app[RECORDS])
    supervisor = await open_person("supervisor")
    page = supervisor.page
    await page.goto(node.url + "/login?next=/reports")
    await supervisor.log_in(SUPERVISOR_RUN, "Sofía", "Rojas")
    await expect(page.locator("#report")).to_be_visible()  # today: nothing yet
    await expect(page.locator("#fig-offered")).to_have_text("0")

    await page.get_by_label("Desde").fill(DAY_TEXT)
    await page.get_by_label("Hasta").fill(DAY_TEXT)
    await page.get_by_role("button", name="Ver reporte").click()
    await expect(page.locator("#period")).to_have_text(DAY_TEXT)
    for tile, text in (
        ("offered", "12"),
        ("answered", "7"),
        ("abandoned", "2"),
        ("short", "1 (< 5 s)"),
        ("closed", "1"),
        ("pending", "1"),
        ("service-level", "55,6 %"),
        ("asa", "1:05"),
        ("aht", "6:00"),
        ("abandonment", "20,0 %"),
        ("transfer", "14,3 %"),
        ("estimate", "31 s (sesgo +19 s)"),
        ("satisfaction", "3,60 (5 encuestas)"),
    ):
        await expect(page.locator(f"#fig-{tile}")).to_have_text(text)
    await expect(page.locator("#fig-threshold")).to_have_text("(60 s)")
    await supervisor.shot("day")

    # Volume by hour: answered and not answered (c11 still waits, so 11:00 has 4 + 1).
    assert await bars(page, "chart-hours") == [
        ("09", "Atendidas", "2"),
        ("09", "No atendidas", "0"),
        ("10", "Atendidas", "1"),
        ("10", "No atendidas", "3"),
        ("11", "Atendidas", "4"),
        ("11", "No atendidas", "1"),
    ]
    reasons = await bars(page, "chart-reasons")
    assert [(category, value) for category, series, value in reasons if series == "Atendidas"] == [
        ("Bonos y reembolsos", "2"),
        ("Garantías GES", "3"),
        ("Licencias médicas", "1"),
        ("Otra consulta", "0"),
        ("Reclamos y sugerencias", "1"),
    ]
    waits = await bars(page, "chart-waits")
    assert [(category, series, value) for category, series, value in waits if value != "0"] == [
        ("0-15", "Atendidas", "1"),
        ("0-15", "No atendidas", "1"),
        ("15-30", "Atendidas", "1"),
        ("30-60", "Atendidas", "2"),
        ("30-60", "No atendidas", "1"),
        ("60-120", "Atendidas", "2"),
        ("120-300", "Atendidas", "1"),
        ("120-300", "No atendidas", "1"),
        ("300-600", "No atendidas", "1"),
    ]
    # The bars are drawn with a height in proportion: 11:00's answered bar is 4/5 of the tallest.
    heights = await page.eval_on_selector_all(
        "#chart-hours rect.bar", "rects => rects.map(r => r.getBBox().height)"
    )
    assert heights[4] == pytest.approx(160 * 4 / 5)

    eva = page.locator("#table-executive tr[data-key='11.111.111-1'] td")
    await expect(eva).to_have_text(["4", "4", "0", "0", "100,0 %", "0:33", "5:00", "4,67"])
    csv = page.get_by_role("link", name="Descargar CSV")
    assert (
        await csv.get_attribute("href") == f"/api/reports?from={DAY_TEXT}&to={DAY_TEXT}&format=csv"
    )
    async with page.expect_download() as download_info:
        await csv.click()
    download = await download_info.value
    assert download.suggested_filename == f"reporte-{DAY_TEXT}-{DAY_TEXT}.csv"
    lines = (await download.path()).read_bytes().decode("utf-8").split("\r\n")
    assert lines[1].startswith("total,,Total,12,7,2,1,1,1,5,0.5556,65,")

    # The executives of the day are suggested for the filter.
    suggestions = await page.eval_on_selector_all(
        "#executives option", "options => options.map(o => [o.value, o.label])"
    )
    assert suggestions == [["11.111.111-1", "Eva Díaz"], ["12.345.678-5", "Juan Pérez"]]

    # A filter: one service only.
    await page.get_by_label("Servicio").select_option("especialista")
    await page.get_by_role("button", name="Ver reporte").click()
    await expect(page.locator("#fig-offered")).to_have_text("2")
    await expect(page.locator("#fig-service-level")).to_have_text("50,0 %")

    # A bad filter is refused in the catalog's words for its problem, not the server's detail.
    await page.get_by_label("RUN del ejecutivo").fill("11.111.111-2")
    await page.get_by_role("button", name="Ver reporte").click()
    await expect(page.locator("#error")).to_have_text(
        "El RUN del ejecutivo no es válido. Revisa el número y el dígito verificador."
    )

    # The same page in English.
    await page.goto(node.url + "/reports?lang=en")
    await expect(page.locator("#status")).to_have_text("No contacts in the period")  # today
    await page.get_by_label("From").fill(DAY_TEXT)
    await page.get_by_label("To", exact=True).fill(DAY_TEXT)
    await page.get_by_role("button", name="Show report").click()
    await expect(page.locator("#fig-service-level")).to_have_text("55.6 %")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#table-reason caption")).to_have_text("By reason")
    await expect(page.locator("#table-reason tr[data-key='ges'] th")).to_have_text(
        "GES health guarantees"
    )
    await supervisor.shot("english")
    await page.get_by_label("From").fill("2020-01-01")
    await page.get_by_role("button", name="Show report").click()
    await expect(page.locator("#error")).to_have_text(
        "The period can be at most 366 days long. Choose a shorter one."
    )

    entries = await node.app[RECORDS].audit_entries()
    assert [entry.kind for entry in entries if entry.kind.startswith("report")] == [
        "report.viewed",  # today
        "report.viewed",  # the scripted day
        "report.exported",  # the CSV
        "report.viewed",  # especialista
        "report.viewed",  # English: today
        "report.viewed",  # English: the scripted day
    ]
