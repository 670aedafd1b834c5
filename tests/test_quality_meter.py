"""The call pages' quality meter (static/js/quality.js) on recorded-like statistics.

The module is pure, so Node runs it on getStats()-shaped reports built here: the same
code the pages run, without a browser. The figures follow what Chromium reported on this
machine (see the thresholds' comment in the module).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MODULE = Path(__file__).resolve().parents[1] / "static" / "js" / "quality.js"

# Reads cases on stdin; for each, feeds its readings to one QualityMeter and prints what
# every update said, both directions included.
HARNESS = """
import { readFileSync } from "node:fs";
import { QualityMeter } from %s;
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map((readings) => {
  const meter = new QualityMeter();
  return readings.map(({ reports, cameraOn, videoExpected }) => {
    const stats = new Map(reports.map((report) => [report.id, report]));
    const quality = meter.update(stats, { cameraOn, videoExpected });
    return { quality, send: meter.send, receive: meter.receive };
  });
});
process.stdout.write(JSON.stringify(out));
"""

SAMPLE_SECONDS = 3.0


def node() -> str:
    found = os.environ.get("BRANCH_TEST_NODE") or shutil.which("node")
    if found is None:
        pytest.fail("Node is not installed: the quality meter's tests need `node` (make setup)")
    return found


def run_meter(*cases: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Each case's readings through a fresh meter: per update, quality, send and receive."""
    script = HARNESS % json.dumps(MODULE.as_uri())
    done = subprocess.run(
        [node(), "--input-type=module", "-e", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: list[list[dict[str, Any]]] = json.loads(done.stdout)
    return result


@dataclass(frozen=True)
class Window:
    """What arrived during one sample window: the other side's video and the link."""

    kbps: float = 480.0
    fps: float = 20.0
    qp: float | None = 2.0
    frozen: float = 0.0  # seconds of freezes that ended in the window
    codec: str = "video/VP8"
    video: bool = True  # video packets arrived at all
    outgoing: float = 3_000_000.0
    rtt: float = 0.005
    lost: int = 0
    camera_on: bool = True
    video_expected: bool = True


def readings(*windows: Window) -> list[dict[str, Any]]:
    """A first reading at t = 0, then one per window, counters summed like Chromium's."""
    packets = bytes_ = frames = 0
    qp_sum = frozen = 0.0
    audio = lost = 0
    out = []
    for index, window in enumerate((Window(), *windows)):
        if index > 0:
            audio += 150
            lost += window.lost
            if window.video:
                packets += 60
                bytes_ += int(window.kbps * 1000 / 8 * SAMPLE_SECONDS)
                new_frames = int(window.fps * SAMPLE_SECONDS)
                frames += new_frames
                qp_sum += (window.qp or 0) * new_frames
                frozen += window.frozen
        at = index * SAMPLE_SECONDS * 1000
        video: dict[str, Any] = {
            "id": "IV",
            "type": "inbound-rtp",
            "kind": "video",
            "timestamp": at,
            "packetsReceived": packets,
            "packetsLost": 0,
            "bytesReceived": bytes_,
            "framesDecoded": frames,
            "totalFreezesDuration": frozen,
            "codecId": "C",
        }
        if window.qp is not None:
            video["qpSum"] = qp_sum
        reports = [
            {"id": "T", "type": "transport", "selectedCandidatePairId": "P"},
            {
                "id": "P",
                "type": "candidate-pair",
                "currentRoundTripTime": window.rtt,
                "availableOutgoingBitrate": window.outgoing,
            },
            {
                "id": "IA",
                "type": "inbound-rtp",
                "kind": "audio",
                "timestamp": at,
                "packetsReceived": audio,
                "packetsLost": lost,
            },
            video,
            {"id": "C", "type": "codec", "mimeType": window.codec},
        ]
        out.append(
            {
                "reports": reports,
                "cameraOn": window.camera_on,
                "videoExpected": window.video_expected,
            }
        )
    return out


def over(seconds: float, window: Window) -> list[Window]:
    return [window] * int(seconds / SAMPLE_SECONDS)


def last(result: list[dict[str, Any]]) -> dict[str, Any]:
    return result[-1]


# Past the 15 s warm-up: the sixth window ends 18 s after the video started.
WARM = 18


@pytest.mark.parametrize(
    ("window", "quality"),
    [
        # Loopback: 430-520 kbit/s at QP 2.
        (Window(), "good"),
        # Download through 400 kbit/s: 640x480 squeezed to 215-310 kbit/s at QP 14-65.
        (Window(kbps=270, qp=35), "fair"),
        # Through 200 kbit/s and below: 85-130 kbit/s, the sender dropped to 320x240.
        (Window(kbps=110, qp=40), "poor"),
        # A simple picture at the QP floor is no squeeze, whatever the rate.
        (Window(kbps=200, qp=3, codec="video/H264"), "good"),
        (Window(kbps=200, qp=12, codec="video/H264"), "fair"),
        (Window(kbps=200, qp=12, codec="video/VP9"), "good"),
        # A codec without a known QP range, or no QP at all: a low rate is not judged.
        (Window(kbps=100, qp=90, codec="video/X-UNKNOWN"), "good"),
        (Window(kbps=100, qp=None), "good"),
        # Frame rate and freezes judge whatever the codec.
        (Window(fps=8), "fair"),
        (Window(fps=3), "poor"),
        (Window(fps=8, qp=None, codec="video/X-UNKNOWN"), "fair"),
        (Window(frozen=0.3), "fair"),
        (Window(frozen=1.0), "poor"),
    ],
)
def test_received_video_after_the_warm_up(window: Window, quality: str) -> None:
    (result,) = run_meter(readings(*over(WARM, window)))
    assert last(result) == {"quality": quality, "send": "good", "receive": quality}


def test_the_first_15_seconds_of_video_are_not_judged() -> None:
    # The other side's estimate climbs from a low start on every link.
    (result,) = run_meter(readings(*over(WARM, Window(kbps=200, qp=80))))
    assert [update["receive"] for update in result] == [None] * 5 + ["fair"] * 2
    assert [update["quality"] for update in result] == ["good"] * 5 + ["fair"] * 2


@pytest.mark.parametrize(
    "window",
    [
        # The other side's camera off: black frames, 7-27 kbit/s at QP 2, at 20 frames/s...
        Window(kbps=16, qp=2),
        # ...or, on a busy machine, 12.7 frames/s with a quarter of the window "frozen".
        Window(kbps=10, qp=2, fps=12.7, frozen=0.77),
        Window(kbps=10, qp=3, fps=3, frozen=2.0, codec="video/H264"),
    ],
)
def test_a_blank_picture_is_not_judged(window: Window) -> None:
    (result,) = run_meter(readings(*over(WARM, Window()), *over(WARM, window)))
    assert last(result) == {"quality": "good", "send": "good", "receive": None}


def test_live_video_as_cheap_as_a_blank_picture_is_still_judged() -> None:
    # Through 120 kbit/s: 30-60 kbit/s, but at QP 106.
    (result,) = run_meter(readings(*over(WARM, Window(kbps=30, qp=106))))
    assert last(result)["receive"] == "poor"


def test_one_stalled_window_is_not_the_link_two_in_a_row_are() -> None:
    # A busy machine here: one window frozen 21 % at 15 frames/s, the next whole again.
    stall = Window(fps=15, frozen=0.64, kbps=380)
    once = [*over(WARM, Window()), stall, Window()]
    twice = [*over(WARM, Window()), stall, stall, Window()]
    results = run_meter(readings(*once), readings(*twice))
    assert [update["receive"] for update in results[0][-3:]] == ["good"] * 3
    assert [update["receive"] for update in results[1][-4:]] == ["good", "good", "fair", "good"]


def test_no_video_arriving_or_none_expected_is_not_judged() -> None:
    squeezed = Window(kbps=100, qp=60)
    # Audio only: the video line is inactive and its counters stand still.
    stopped = over(WARM, Window(video=False))
    audio_only = over(WARM, Window(video_expected=False, kbps=100, qp=60))
    results = run_meter(readings(*stopped), readings(*audio_only), readings(*over(WARM, squeezed)))
    assert [last(result)["receive"] for result in results] == [None, None, "poor"]
    assert [last(result)["quality"] for result in results] == ["good", "good", "poor"]


def test_the_warm_up_starts_again_when_the_video_comes_back() -> None:
    squeezed = Window(kbps=100, qp=60)
    windows = [*over(WARM, squeezed), Window(video=False), *over(12, squeezed)]
    (result,) = run_meter(readings(*windows))
    assert [update["receive"] for update in result[-5:]] == [None] * 5
    (result,) = run_meter(readings(*windows, squeezed))
    assert last(result)["receive"] == "poor"


@pytest.mark.parametrize(
    ("window", "quality"),
    [
        # A slow upload moves the send estimate, with the camera on only.
        (Window(outgoing=400_000), "poor"),
        (Window(outgoing=800_000), "fair"),
        (Window(outgoing=400_000, camera_on=False), "good"),
        (Window(rtt=0.5), "fair"),
        (Window(rtt=0.9), "poor"),
        # 150 audio + 60 video packets a window: 8 lost is 3.7 %, 25 lost 10.6 %.
        (Window(lost=8), "fair"),
        (Window(lost=25), "poor"),
    ],
)
def test_what_we_send_is_judged_from_the_first_window(window: Window, quality: str) -> None:
    (result,) = run_meter(readings(window))
    assert result == [
        {"quality": "good", "send": "good", "receive": None},
        {"quality": quality, "send": quality, "receive": None},
    ]


def test_the_worse_direction_wins() -> None:
    both = Window(outgoing=400_000, kbps=270, qp=35)
    download = Window(outgoing=3_000_000, kbps=110, qp=40)
    results = run_meter(readings(*over(WARM, both)), readings(*over(WARM, download)))
    assert [last(result) for result in results] == [
        {"quality": "poor", "send": "poor", "receive": "fair"},
        {"quality": "poor", "send": "good", "receive": "poor"},
    ]
