"""A citizen still choosing sees the service change live; a wait past the hard limit ends told."""

from __future__ import annotations

from dataclasses import replace

import pytest
from playwright.async_api import expect

from branch.config import Queue
from branch.live.memory import MemoryLiveStore
from branch.web.app import RECORDS
from branch.web.keys import LIVE
from tests.browser.conftest import OpenPerson
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SECOND_CITIZEN_RUN = "13.131.313-6"
GENERAL = Queue(
    "general",
    "Atención general",
    allow_unstaffed=False,
    max_waiting=1,
    hard_max_wait_minutes=1,
)


async def test_service_status_is_pushed_live_and_the_hard_limit_ends_a_wait(
    start_branch: StartBranch, open_person: OpenPerson
) -> None:
    node = await start_branch(queues=(GENERAL,))
    choosing = await open_person("citizen")
    waiting = await open_person("citizen")
    executive = await open_person("executive")
    page = choosing.page
    status = page.locator("#service-status")

    await page.goto(node.url + "/login?next=/citizen")
    await choosing.log_in(CITIZEN_RUN, "María José", "González Pérez")
    await expect(status).to_have_text(
        "En este momento no hay ejecutivos atendiendo Atención general. Intenta en unos minutos."
    )
    await expect(status).to_have_attribute("role", "status")

    # An executive logs in (not ready): the service is staffed, the page says so without reload.
    await executive.page.goto(node.url + "/login?next=/executive")
    await executive.log_in(EXECUTIVE_RUN, "Juan", "Soto")
    await expect(executive.page.locator("#agent-state")).to_have_text("No disponible")
    await expect(status).to_be_hidden()

    # Someone else fills the one place in line.
    await waiting.join_queue(node.url, SECOND_CITIZEN_RUN)
    await expect(waiting.page.locator("#waiting-limit")).to_have_text(
        "La espera máxima en este servicio es de 1 minuto: si se cumple antes de tu turno, "
        "te avisaremos aquí."
    )
    await expect(status).to_have_text(
        "La fila de Atención general está llena en este momento (1 persona esperando). "
        "Intenta de nuevo en unos minutos."
    )
    await choosing.shot("queue-full")

    # The hard limit is a minute; the running floor gets one second, so the test does not wait.
    live = node.app[LIVE]
    assert isinstance(live, MemoryLiveStore)
    live.floor.rules = replace(live.floor.rules, wait_limits=(("general", 1.0),))
    await expect(waiting.page.locator("#error")).to_have_text(
        "Esperaste 1 minuto, el máximo de espera de Atención general, y tu atención terminó. "
        "Disculpa las molestias: puedes volver a ponerte en la fila o intentarlo más tarde."
    )
    await expect(
        waiting.page.get_by_role("heading", name="¿En qué te podemos ayudar?")
    ).to_be_visible()
    await waiting.shot("wait-limit")
    await expect(status).to_be_hidden()  # the line has room again
    [record] = await node.app[RECORDS].recent(5)
    assert (record.citizen_run, record.end_reason) == (SECOND_CITIZEN_RUN, "wait_limit")

    # The last executive leaves: the choosing page says nobody is serving again.
    await executive.page.close()
    await expect(status).to_contain_text("no hay ejecutivos atendiendo Atención general")

    # The same notices exist in English (tests/test_catalogs.py checks every key is in both).
    english = await page.evaluate(
        """async () => {
          const { notice } = await import("/static/js/i18n.js");
          return {
            limit: await notice("en", "waitLimit", { service: "General service", limit: 60 }),
            full: await notice("en", "queue_full", { service: "General service", waiting: 1 }),
            audio: await notice("en", "peerAudioOnly"),
            unknown: await notice("fr", "peerVideoBack"),
          };
        }"""
    )
    assert english == {
        "limit": "You waited 1 minute, the longest wait for General service, so this contact "
        "ended. We are sorry: you can join the line again or try later.",
        "full": "The line for General service is full right now (1 person waiting). "
        "Please try again in a few minutes.",
        "audio": "The citizen switched to audio only to save data: that is why their video "
        "stopped. You can still hear each other.",
        "unknown": "La persona volvió a activar su video.",
    }
