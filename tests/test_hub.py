"""The local hub's page table: a role's pages found without scanning everyone else's."""

from __future__ import annotations

from branch.errors import CLOSE_REPLACED
from branch.hub import Hub


class Page:
    def __init__(self, session_id: str = "s1") -> None:
        self.session_id = session_id
        self.texts: list[str] = []
        self.closed: tuple[int, str] | None = None

    async def send_text(self, text: str) -> bool:
        self.texts.append(text)
        return True

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def scanned(hub: Hub, prefix: str) -> list[str]:
    """What `keys` must give: every page key that starts with the prefix, in table order."""
    return [key for key in hub.keys("") if key.startswith(prefix)]


async def test_a_roles_pages_follow_opening_replacing_and_closing() -> None:
    hub = Hub()
    eva, first, ana = Page(), Page(), Page()
    await hub.open_page("executive:11.111.111-1", eva)
    await hub.open_page("citizen:1", first)
    await hub.open_page("citizen:2", Page())
    await hub.open_page("supervisor:9", Page())
    newer = Page("s2")
    await hub.open_page("citizen:1", newer)  # a second page replaces the first
    assert first.closed is not None and first.closed[0] == CLOSE_REPLACED
    await hub.open_page("citizen:3", ana)
    assert hub.keys("citizen:") == ["citizen:1", "citizen:2", "citizen:3"]
    assert hub.keys("executive:") == ["executive:11.111.111-1"]
    assert hub.keys("auditor:") == []
    # The replaced page's own handler letting go changes nothing; the current one's does.
    assert not await hub.close_page("citizen:1", first)
    assert await hub.close_page("citizen:1", newer)
    await hub.open_page("citizen:1", Page())  # back, now last
    for prefix in ("citizen:", "executive:", "supervisor:"):
        assert hub.keys(prefix) == scanned(hub, prefix)
    assert hub.keys("citizen:") == ["citizen:2", "citizen:3", "citizen:1"]
    # Any other prefix is still a prefix.
    assert hub.keys("citizen:2") == ["citizen:2"]
    assert hub.keys("exec") == ["executive:11.111.111-1"]
    assert await hub.everywhere("executive:") == ["executive:11.111.111-1"]


async def test_closing_every_page_empties_every_role() -> None:
    hub = Hub()
    pages = [Page() for _ in range(3)]
    for index, page in enumerate(pages):
        await hub.open_page(f"citizen:{index}", page)
    await hub.open_page("executive:1", Page())
    await hub.close_all(1001, "node stopping")
    assert all(page.closed == (1001, "node stopping") for page in pages)
    assert hub.keys("citizen:") == [] and hub.keys("executive:") == [] and len(hub) == 0
    await hub.open_page("citizen:0", Page())
    assert hub.keys("citizen:") == ["citizen:0"]
