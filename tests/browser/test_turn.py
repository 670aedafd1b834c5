"""Two Chromium pages forced through coturn: the selected pair is relay on both ends."""

from __future__ import annotations

import pytest

from tests.browser.conftest import OpenPerson
from tests.browser.test_call import assert_video_flows
from tests.conftest import CITIZEN_RUN, EXECUTIVE_RUN, StartBranch
from tests.turn_server import TurnServer, coturn

__all__ = ["coturn"]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

# The candidate types of the pair the connection selected.
SELECTED_PAIR = """async () => {
  const stats = await window.branchCall.pc.getStats();
  let pair = null;
  stats.forEach((report) => {
    if (report.type === "transport" && report.selectedCandidatePairId) {
      pair = stats.get(report.selectedCandidatePairId);
    }
  });
  if (!pair) return null;
  return [stats.get(pair.localCandidateId).candidateType, stats.get(pair.remoteCandidateId).candidateType];
}"""


async def test_a_browser_call_forced_through_turn_uses_a_relay_pair(
    start_branch: StartBranch, open_person: OpenPerson, coturn: TurnServer
) -> None:
    node = await start_branch(
        webrtc_turn_urls=coturn.urls,
        webrtc_turn_secret=coturn.secret,
        webrtc_ice_transport_policy="relay",
    )
    citizen, executive = await open_person("citizen"), await open_person("executive")
    await citizen.join_queue(node.url, CITIZEN_RUN)
    await executive.go_available(node.url, EXECUTIVE_RUN)
    await executive.page.get_by_role("button", name="Aceptar").click()
    await assert_video_flows(citizen.page)
    await assert_video_flows(executive.page)
    for page in (citizen.page, executive.page):
        assert await page.evaluate(SELECTED_PAIR) == ["relay", "relay"]
