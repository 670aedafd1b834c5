"""Clear trouble states: each one driven in Chromium, its plain message checked in both languages."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from branch.config import Queue
from tests.browser.conftest import OpenPerson, Person
from tests.browser.test_accessibility import assert_accessible
from tests.conftest import CITIZEN_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

GENERAL = Queue("general", "Atención general")

# Init scripts run before the page's own: they stand in for what the device or browser does.
REFUSE = "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('x', '{}'));"
NO_CAMERA = """
const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (asked) => asked.video
  ? Promise.reject(new DOMException("no camera", "NotFoundError")) : real(asked);
"""
NO_WEBRTC = "delete window.RTCPeerConnection; window.RTCPeerConnection = undefined;"

MEDIA_STATES = [
    (
        "denied",
        REFUSE.format("NotAllowedError"),
        "No tenemos permiso para usar tu cámara y micrófono",
        "We have no permission to use your camera and microphone",
    ),
    (
        "no-devices",
        REFUSE.format("NotFoundError"),
        "No encontramos una cámara ni un micrófono",
        "We found no camera and no microphone",
    ),
    (
        "in-use",
        REFUSE.format("NotReadableError"),
        "Tu cámara o micrófono está ocupado",
        "Your camera or microphone is busy",
    ),
    (
        "no-webrtc",
        NO_WEBRTC,
        "Este navegador no permite videollamadas",
        "This browser does not allow video calls",
    ),
]


async def to_device_check(person: Person, url: str) -> None:
    page = person.page
    await page.goto(url + "/login?next=/citizen")
    await person.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await page.get_by_label("Motivo de tu consulta").select_option("ges")
    await page.get_by_role("button", name="Continuar").click()


async def test_camera_and_microphone_troubles_say_what_happened_and_what_to_do(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(GENERAL,))
    for name, script, spanish, english in MEDIA_STATES:
        person = await open_person(f"citizen-{name}", init_script=script)
        page = person.page
        await to_device_check(person, node.url)
        problem = page.locator("#device-problem")
        await expect(problem).to_have_attribute("role", "alert")
        await expect(page.locator("#device-problem-title")).to_have_text(spanish)
        advice = "Chrome" if name == "no-webrtc" else "«Probar de nuevo»"
        await expect(page.locator("#device-problem-text")).to_contain_text(advice)
        await expect(page.locator("#join")).to_be_disabled()
        await assert_accessible(person, name)
        await page.get_by_role("button", name="Read this page in English").click()
        await expect(page.locator("#device-problem-title")).to_have_text(english)
        await person.shot(f"{name}-english")
        await person.context.close()

    # No camera: she may go on with the microphone alone.
    person = await open_person("citizen-microphone-only", init_script=NO_CAMERA)
    page = person.page
    await to_device_check(person, node.url)
    await expect(page.locator("#device-status")).to_have_text(
        "No encontramos una cámara. Puedes continuar solo con micrófono: el ejecutivo te "
        "escuchará, pero no te verá. Si tienes una cámara, conéctala y toca «Probar de nuevo»."
    )
    await expect(page.locator("#preview-off")).to_have_text("Sin cámara")
    await expect(page.locator("#join")).to_be_enabled()
    await page.get_by_role("button", name="Read this page in English").click()
    await expect(page.locator("#device-status")).to_contain_text(
        "You can go on with the microphone only"
    )


async def test_network_lost_server_unreachable_and_session_ended(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(GENERAL,))
    citizen = await open_person("citizen")
    page = citizen.page
    await citizen.join_queue(node.url, CITIZEN_RUN)
    notice = page.locator("#connection")

    # The phone loses its network: the page says it is the device's connection, not the branch.
    await citizen.context.set_offline(True)
    await expect(notice).to_have_text(
        "Tu equipo perdió la conexión a internet. Revisa el wifi o los datos móviles: "
        "mantén esta página abierta y volveremos a conectarte solos."
    )
    await assert_accessible(citizen, "network-lost")
    await citizen.context.set_offline(False)
    await expect(notice).to_be_hidden()
    await expect(page.locator("#position")).to_have_text("Eres el siguiente en la fila")

    # Another window logs out: this page says the session ended and how to get back in.
    other = await citizen.context.new_page()
    await other.goto(node.url + "/citizen")
    await expect(
        page.get_by_role("heading", name="Abriste la sucursal en otra ventana")
    ).to_be_visible()
    await page.get_by_role("button", name="Usar esta ventana").click()
    await expect(page.get_by_role("heading", name="Estás en la fila")).to_be_visible()
    await other.get_by_role("button", name="Cerrar sesión").click()
    await expect(page.get_by_role("heading", name="Tu sesión terminó")).to_be_visible()
    await expect(page.get_by_role("link", name="Ingresar de nuevo")).to_have_attribute(
        "href", "/login?next=/citizen"
    )
    await assert_accessible(citizen, "session-ended")
    await other.close()

    # The branch cannot be reached at all: keep the page open, it retries.
    english = await open_person("citizen", locale="en-US")
    await english.page.goto(node.url + "/login?next=/citizen")
    await english.log_in("13.131.313-6", "Mary", "Jones")
    await expect(english.page.get_by_role("heading", name="How can we help you?")).to_be_visible()
    await node.stop()
    await expect(english.page.locator("#connection")).to_contain_text(
        "We cannot reach the branch. Keep this page open: we try again in"
    )
    await assert_accessible(english, "server-unreachable")


async def test_a_refused_login_is_told_in_the_persons_language(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(limits_logins_per_minute=1)
    citizen = await open_person("citizen")
    page = citizen.page
    await page.goto(node.url + "/login?next=/citizen")
    await page.goto(node.url + "/login?next=/citizen")  # the second within the minute
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text(
        "Lo intentaste demasiadas veces seguidas. Espera unos minutos e inténtalo de nuevo."
    )
    await expect(page.get_by_role("heading")).to_have_text("No pudimos completar el ingreso")
    # The server's own detail is there for whoever investigates, folded away.
    await expect(page.locator(".detail")).to_be_hidden()
    await assert_accessible(citizen, "login-refused")
    await page.get_by_role("button", name="Read this page in English").click()
    await expect(alert).to_have_text(
        "You tried too many times in a row. Wait a few minutes and try again."
    )
    await expect(page.get_by_role("heading")).to_have_text("We could not complete your login")
    await page.locator("summary").click()
    await expect(page.locator(".detail")).to_contain_text("demasiados intentos de ingreso")
