"""A whole contact in two real browsers: login, reason, device check, queue, call, wrap-up."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, expect

from branch.verification import verification_code
from branch.web.app import RECORDS
from tests.browser.conftest import OpenPerson
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

# Sums framesDecoded over the active call's inbound video (window.branchCall is
# the pages' debug hook: the Call object of the call in progress, or null).
FRAMES_DECODED = """async () => {
  const call = window.branchCall;
  if (!call) return -1;
  let frames = 0;
  (await call.pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "video") frames += report.framesDecoded ?? 0;
  });
  return frames;
}"""

# The DTLS certificate fingerprints of the established transport, as the page sees them.
FINGERPRINTS = """async () => {
  const stats = await window.branchCall.pc.getStats();
  let pair = null;
  stats.forEach((report) => {
    if (report.type === "transport" && report.dtlsState === "connected") {
      pair = [stats.get(report.localCertificateId).fingerprint,
              stats.get(report.remoteCertificateId).fingerprint];
    }
  });
  return pair;
}"""

CONNECTED = "() => window.branchCall?.pc.connectionState === 'connected'"


async def assert_video_flows(page: Page) -> None:
    await page.wait_for_function(CONNECTED, timeout=20_000)
    # wait_for_function would take an async predicate's Promise as truthy: poll here.
    first = 0
    for _attempt in range(150):
        first = await page.evaluate(FRAMES_DECODED)
        if first > 0:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    second = await page.evaluate(FRAMES_DECODED)
    assert 0 < first < second, f"framesDecoded did not rise: {first} then {second}"
    assert await page.evaluate("document.querySelector('#remote-video').videoWidth") > 0


async def test_a_citizen_talks_with_an_executive(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch()
    citizen = await open_person("citizen")
    executive = await open_person("executive")
    cpage, epage = citizen.page, executive.page

    # The citizen arrives at the landing page and logs in with "ClaveÚnica".
    await cpage.goto(node.url + "/")
    await citizen.shot("landing")
    await cpage.get_by_role("link", name="Ingresar con ClaveÚnica").click()
    await cpage.wait_for_url("**/dev-login/**")
    await citizen.shot("dev-login")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await cpage.wait_for_url(node.url + "/citizen")

    # Step 1: the reason, from the catalog the server sent.
    await expect(cpage.get_by_role("heading", name="¿En qué te podemos ayudar?")).to_be_visible()
    await expect(cpage.locator("#person-name")).to_contain_text("María González")
    await cpage.get_by_label("Motivo de tu consulta").select_option("licencias")
    await cpage.get_by_label("Cuéntanos brevemente").fill("Consulta por licencia rechazada")
    await citizen.shot("reason")
    await cpage.get_by_role("button", name="Continuar").click()

    # Step 2: the fake camera and microphone pass the device check.
    join = cpage.get_by_role("button", name="Ponerme en la fila")
    await expect(join).to_be_enabled()
    await expect(cpage.locator("#device-status")).to_have_text("Tu cámara y micrófono funcionan.")
    # A function, not a bare expression: Playwright re-evaluates an expression with eval
    # while polling, which the page's CSP (no 'unsafe-eval') refuses when the first check fails.
    await cpage.wait_for_function("() => document.querySelector('#preview').videoWidth > 0")
    await citizen.shot("devices")
    await join.click()

    # Step 3: first in line.
    await expect(cpage.locator("#position")).to_have_text("Eres el siguiente en la fila")
    await expect(cpage.locator("#waiting-count")).to_have_text("1 persona")
    assert (await cpage.title()).startswith("⏰ Eres el siguiente")
    folio = (await cpage.locator("#waiting-folio").text_content() or "").strip()
    assert folio not in ("", "—")
    await citizen.shot("waiting")

    # The executive logs in, goes available and is offered the citizen.
    await epage.goto(node.url + "/login?next=/executive")
    await epage.wait_for_url("**/dev-login/**")
    await executive.log_in(EXECUTIVE_RUN, "Juan", "Soto")
    await epage.wait_for_url(node.url + "/executive")
    await expect(epage.locator("#agent-state")).to_have_text("No disponible")
    await expect(epage.locator("#queue-waiting")).to_have_text("1 persona en la fila")
    await executive.shot("not-ready")
    await epage.get_by_role("button", name="Disponible", exact=True).click()

    offer = epage.locator("#panel-offer")
    await expect(offer).to_be_visible()
    await expect(epage.locator("#agent-state")).to_have_text("Ofrecido")
    await expect(epage.locator("#offer-name")).to_contain_text("María González")
    await expect(epage.locator("#offer-run")).to_have_text(CITIZEN_RUN)
    await expect(epage.locator("#offer-reason")).to_have_text("Licencias médicas")
    await expect(epage.locator("#offer-text")).to_have_text("Consulta por licencia rechazada")
    await expect(epage.locator("#offer-folio")).to_have_text(folio)
    await expect(cpage.get_by_text("Te estamos conectando con un ejecutivo")).to_be_visible()
    await executive.shot("offer")
    await citizen.shot("connecting")
    await epage.get_by_role("button", name="Aceptar").click()

    # The call: video decoded on both sides, and still arriving.
    await expect(epage.locator("#agent-state")).to_have_text("En llamada")
    await expect(cpage.locator("#peer-name")).to_contain_text("Juan")
    assert (await cpage.title()).startswith("📞 En atención")
    await asyncio.gather(assert_video_flows(cpage), assert_video_flows(epage))
    await citizen.shot("call")
    await executive.shot("call")

    # Both read the same four words, derived from the certificates of their own connection.
    for page in (cpage, epage):
        await expect(page.locator("#verify-code")).to_have_text(re.compile(r"^[a-z]+( [a-z]+){3}$"))
    code = await cpage.locator("#verify-code").text_content()
    assert code == await epage.locator("#verify-code").text_content()
    local, remote = await cpage.evaluate(FINGERPRINTS)
    assert code == verification_code(local, remote)

    # The chat, for what is hard to say aloud: both see both lines.
    await cpage.get_by_label("Escribe un mensaje").fill("Mi licencia es la 4455")
    await cpage.get_by_label("Escribe un mensaje").press("Enter")
    await expect(epage.locator("#chat-log")).to_contain_text("Mi licencia es la 4455")
    await epage.get_by_label("Escribe un mensaje").fill("Gracias, la estoy revisando")
    await epage.get_by_role("button", name="Enviar").click()
    await expect(cpage.locator("#chat-log li")).to_have_count(2)
    await expect(cpage.locator("#chat-log li").nth(1)).to_contain_text(
        "Gracias, la estoy revisando"
    )
    await expect(cpage.get_by_label("Escribe un mensaje")).to_have_value("")

    # Muting only disables the track; the call goes on.
    await cpage.get_by_role("button", name="Silenciar micrófono").click()
    await expect(cpage.get_by_role("button", name="Activar micrófono")).to_be_visible()
    assert await cpage.evaluate("window.branchCall.microphoneOn") is False

    # The citizen hangs up; the executive wraps up.
    await cpage.get_by_role("button", name="Colgar").click()
    await expect(
        cpage.get_by_role("heading", name="¡Gracias por usar la Sucursal en Línea!")
    ).to_be_visible()
    await expect(cpage.locator("#ended-folio")).to_have_text(folio)
    await expect(cpage.locator("#receipt-reason")).to_have_text("Licencias médicas")
    await expect(cpage.locator("#receipt-executive")).to_contain_text("Juan Soto")
    assert await cpage.evaluate("window.branchCall") is None
    await citizen.shot("ended")

    # The survey: a score is required, then it is recorded once.
    await cpage.get_by_role("button", name="Enviar evaluación").click()
    await expect(cpage.locator("#survey-error")).to_be_visible()
    await cpage.get_by_role("radio", name="5").check()
    await cpage.get_by_label("¿Algo que quieras contarnos?").fill("Muy clara la explicación")
    await cpage.get_by_role("button", name="Enviar evaluación").click()
    await expect(cpage.get_by_text("¡Gracias por tu evaluación!")).to_be_visible()
    await expect(cpage.locator("#survey-form")).to_be_hidden()
    await citizen.shot("surveyed")

    await expect(epage.locator("#agent-state")).to_have_text("Cierre")
    await expect(epage.locator("#wrapup-reason")).to_have_value("licencias")
    await epage.get_by_role("button", name="Guardar cierre").click()
    await expect(epage.locator("#outcome-error")).to_be_visible()  # the outcome is mandatory
    await epage.get_by_label("Resultado").select_option("resuelto")
    await epage.get_by_label("Notas").fill("Se explicó el rechazo y cómo apelar.")
    await executive.shot("wrapup")
    await epage.get_by_role("button", name="Guardar cierre").click()
    await expect(epage.locator("#connection")).to_have_text("Cierre guardado.")
    await expect(epage.locator("#agent-state")).to_have_text("Disponible")
    await executive.shot("saved")

    records = await node.app[RECORDS].recent(10)
    record = next(r for r in records if r.folio == folio)
    assert record.citizen_run == CITIZEN_RUN
    assert record.executive_run == EXECUTIVE_RUN
    assert record.reason_code == "licencias"
    assert record.end_reason == "completed"
    assert record.outcome_code == "resuelto"
    assert record.notes == "Se explicó el rechazo y cómo apelar."
    assert record.answered_at is not None
    assert record.ended_at is not None
    assert record.ended_at >= record.answered_at
    assert (record.survey_score, record.survey_comment) == (5, "Muy clara la explicación")
    chat = await node.app[RECORDS].chat(record.contact_id)
    assert [(line.sender, line.text) for line in chat] == [
        ("citizen", "Mi licencia es la 4455"),
        ("executive", "Gracias, la estoy revisando"),
    ]


# getUserMedia that fails the way a browser does; "NotFoundError" leaves the
# microphone alone, as on a computer without a camera.
FAILING_MEDIA = """
(() => {
  const name = %r;
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    if (name === "NotFoundError" && !constraints.video) return original(constraints);
    throw new DOMException("refused by the test", name);
  };
})();
"""


@pytest.mark.parametrize(
    ("error", "title", "join_enabled"),
    [
        ("NotAllowedError", "No tenemos permiso para usar tu cámara y micrófono", False),
        ("NotReadableError", "Tu cámara o micrófono está ocupado", False),
        ("NotFoundError", None, True),
    ],
)
async def test_device_check_explains_what_went_wrong(
    start_branch: StartBranch,
    open_person: OpenPerson,
    error: str,
    title: str | None,
    join_enabled: bool,
) -> None:
    node = await start_branch()
    citizen = await open_person("citizen", init_script=FAILING_MEDIA % error)
    page = citizen.page
    await page.goto(node.url + "/login?next=/citizen")
    await citizen.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await page.wait_for_url(node.url + "/citizen")
    await page.get_by_label("Motivo de tu consulta").select_option("bonos")
    await page.get_by_role("button", name="Continuar").click()

    join = page.get_by_role("button", name="Ponerme en la fila")
    if title is not None:
        problem = page.get_by_role("alert").filter(has_text=title)
        await expect(problem).to_be_visible()
        await expect(page.get_by_role("button", name="Probar de nuevo")).to_be_visible()
    else:
        await expect(page.locator("#device-status")).to_contain_text(
            "Puedes continuar solo con micrófono"
        )
    if join_enabled:
        await expect(join).to_be_enabled()
    else:
        await expect(join).to_be_disabled()
    await citizen.shot(error)
