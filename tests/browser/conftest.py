"""Debian's Chromium driven by Playwright, with fake camera and microphone.

Flags as in /work/shared/notes/webrtc.md: without --allow-loopback-in-peer-connection
Chromium gathers no candidates on a loopback-only machine, and without the
background-networking flags it keeps trying to reach the internet.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
    expect,
)

from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN
from tests.servers.slow_link import Shaping, SlowLink, open_slow_link

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]

# Pages wait for the server and for ICE; a few seconds is normal on a busy machine.
expect.set_options(timeout=15_000)


@dataclass
class Person:
    """One browser context (one person) with its page and what its console said."""

    label: str
    context: BrowserContext
    page: Page
    artifacts: Path
    console: list[str] = field(default_factory=list)
    shots: int = 0

    async def shot(self, name: str) -> Path:
        """Save a screenshot into test-artifacts/<test>/<nn>-<person>-<name>.png."""
        self.shots += 1
        path = self.artifacts / f"{self.shots:02d}-{self.label}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def log_in(self, run: str, names: str, surnames: str) -> None:
        """Fill the development login form the way a person would."""
        await self.page.fill("#run", run)
        await self.page.fill("#given_name", names)
        await self.page.fill("#family_name", surnames)
        await self.page.click("button[type=submit]")

    async def join_queue(self, url: str, run: str, reason: str = "ges") -> None:
        """Log in as a citizen, pick a reason, pass the device check and join."""
        await self.page.goto(url + "/login?next=/citizen")
        await self.log_in(run, "María José", "González Pérez")
        await self.page.get_by_label("Motivo de tu consulta").select_option(reason)
        await self.page.get_by_role("button", name="Continuar").click()
        await self.page.get_by_role("button", name="Ponerme en la fila").click()
        await expect(self.page.locator("#waiting-folio")).not_to_have_text("—")

    async def go_available(self, url: str, run: str) -> None:
        """Log in as an executive and press Disponible."""
        await self.page.goto(url + "/login?next=/executive")
        await self.log_in(run, "Juan", "Soto")
        await self.page.get_by_role("button", name="Disponible", exact=True).click()


OpenPerson = Callable[..., Awaitable[Person]]


async def start_call(citizen: Person, executive: Person, url: str) -> None:
    """The citizen joins the line, the executive goes available and accepts the offer."""
    await citizen.join_queue(url, CITIZEN_RUN)
    await executive.go_available(url, EXECUTIVE_RUN)
    await executive.page.get_by_role("button", name="Aceptar").click()


def chromium_path() -> str:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Chromium is not installed: the browser tests need Debian's `chromium` on PATH "
            "(apt-get install chromium, or `make setup`)",
            pytrace=False,
        )
    return executable


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def slow_link(request: pytest.FixtureRequest) -> Iterator[SlowLink]:
    """A network namespace behind a veth pair shaped to 400 kbit/s each way.

    A test parametrizes it indirectly with another ``Shaping`` (e.g. the download only).
    Request it before ``start_branch`` when the node listens on its host address: the
    node must stop while the address still exists, or its last TLS goodbyes never leave.
    """
    shaping = getattr(request, "param", Shaping())
    if not isinstance(shaping, Shaping):
        raise TypeError(f"slow_link is parametrized with a Shaping, not {shaping!r}")
    yield from open_slow_link(shaping)


@pytest.fixture
async def slow_browser(slow_link: SlowLink, tmp_path: Path) -> AsyncIterator[Browser]:
    """A second Chromium whose every packet, WebRTC media included, takes the slow link."""
    wrapper = slow_link.chromium_wrapper(tmp_path, chromium_path())
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(wrapper), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def open_person(
    browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[OpenPerson]:
    """Factory: a fresh context and page per person; a last screenshot of each at teardown."""
    artifacts = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    people: list[Person] = []

    async def open_one(
        label: str,
        *,
        init_script: str | None = None,
        locale: str = "es-CL",
        in_browser: Browser | None = None,
    ) -> Person:
        """``in_browser``: another Chromium than the test's usual one (e.g. ``slow_browser``)."""
        context = await (in_browser or browser).new_context(
            ignore_https_errors=True,
            locale=locale,
            # The citizen's page is mobile first; the executive works at a desk.
            viewport={"width": 390, "height": 844}
            if label == "citizen"
            else {"width": 1366, "height": 900},
        )
        if init_script is not None:
            await context.add_init_script(init_script)
        page = await context.new_page()
        person = Person(label, context, page, artifacts)

        def remember(message: ConsoleMessage) -> None:
            person.console.append(f"{message.type}: {message.text}")

        page.on("console", remember)
        page.on("pageerror", lambda error: person.console.append(f"pageerror: {error}"))
        people.append(person)
        return person

    yield open_one
    for person in people:
        try:
            await person.shot("last")
        except Exception as error:  # a crashed page must not hide the test's own failure
            print(f"{person.label}: no last screenshot ({error})")
        print(f"--- {person.label} console ---", *person.console, sep="\n")
        await person.context.close()
    # The pages must run under the strict Content-Security-Policy without a single refusal,
    # and without an uncaught exception.
    refused = [
        f"{person.label}: {line}"
        for person in people
        for line in person.console
        if "Content Security Policy" in line or line.startswith("pageerror:")
    ]
    assert not refused, "\n".join(refused)
