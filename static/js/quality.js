// How good a call's link is, from two getStats() readings a few seconds apart, in both
// directions: what we send (round trip, the browser's send estimate) and what we receive
// (loss, and the other side's video as it reaches us). No timers, no peer connection: the
// caller hands in the reports, so the judgement runs the same on recorded figures.

// Send-estimate thresholds (bit/s) while the camera is on. The browser's congestion
// control keeps queues short, so a slow link barely shows in round trip or loss (through
// a 400 kbit/s token bucket: round trip mostly under 0.1 s, no loss); the send estimate
// does show it, staying near the link's rate (0.3 to 0.5 Mbit/s there, above 3 Mbit/s
// on loopback). Our 640×480 video takes about 0.5 Mbit/s when the link allows and audio
// under 0.05 Mbit/s: below 0.6 Mbit/s the video must be squeezed, and audio only is what
// keeps the conversation clear.
const POOR_SEND_ESTIMATE = 600_000;
const FAIR_SEND_ESTIMATE = 1_000_000;

// The send estimate is blind to a slow download: the other side's browser is the one that
// squeezes its video to fit, and only the video reaching us shows it. Measured here (fake
// 640×480 camera, VP8, 1 s readings, load average 5 to 8): on loopback 430–520 kbit/s at
// 20 frames/s with a mean QP of 2 (the picture needs no more bits); with only the download
// through a 400 kbit/s token bucket 215–310 kbit/s, still 640×480 at 20 frames/s but at QP
// 14–65; through 200 kbit/s 85–130 kbit/s at 320×240; through 120 kbit/s 30–60 kbit/s at
// 320×240 and 1–19 frames/s. Through 400 kbit/s round trip and loss stayed as on loopback;
// jitter buffer delay overlapped (1–130 ms there, 5–100 ms on loopback). Fair below
// 0.35 Mbit/s lies between the squeezed and the whole picture; below 0.15 Mbit/s the
// sender has already halved it, and audio only is what keeps the conversation clear.
const POOR_RECEIVED_VIDEO = 150_000;
const FAIR_RECEIVED_VIDEO = 350_000;
// A low rate alone is no squeeze: only a picture encoded above the codec's floor is short
// of bits. The floor is VP8's measured 2 with room for noise, scaled to the other codecs'
// QP ranges (VP8 0–127, VP9/AV1 0–255, H.264/H.265 0–51).
const QP_FLOOR = {
  "video/VP8": 10,
  "video/VP9": 20,
  "video/AV1": 20,
  "video/H264": 4,
  "video/H265": 4,
};
// The other side's camera turned off still sends black frames at 640×480: 7–27 kbit/s at
// QP 2 on every link above, about 20 frames/s when the machine is idle but 12.7 frames/s
// with a quarter of the window "frozen" at load average 8.5. Nothing of that is visible, so
// such a blank picture is not judged at all. Live video never came so cheap at the floor:
// the most squeezed (through 120 kbit/s) took 30–60 kbit/s, at QP 106.
const BLANK_PICTURE = 50_000;
// Below 5 frames/s the video is a slideshow; under 10 it is visibly jerky. A freeze (a frame
// late by three frame times or 150 ms more than usual, as the browser counts them) for a
// quarter of the time is a picture that keeps stopping; 5 % is one noticeable stop.
const POOR_FRAME_RATE = 5;
const FAIR_FRAME_RATE = 10;
const POOR_FROZEN_SHARE = 0.25;
const FAIR_FROZEN_SHARE = 0.05;
// The other side's send estimate starts low on every link and climbs: on loopback the
// video arrived at 200–380 kbit/s and QP up to 80 for as long as 15 s after it started.
// Until then what we receive says nothing about our download.
const VIDEO_WARM_UP_MS = 15_000;
// A verdict on the received video holds only when two windows in a row (6 s) show it: one
// stall of a busy device is not the link. On loopback at load average 13 one window froze
// for 0.64 s (21 %) at 15 frames/s, with the bitrate and QP of a good link, and the next
// was whole again.

const LEVELS = ["good", "fair", "poor"];

/** The figures of one getStats() report the judgement needs. */
export function readStats(stats) {
  let pair = null;
  let received = 0;
  let lost = 0;
  let video = null;
  stats.forEach((report) => {
    // The transport names the pair in use; a nominated pair's state flickers while
    // a consent check is out, which would drop samples.
    if (report.type === "transport" && report.selectedCandidatePairId) {
      pair = stats.get(report.selectedCandidatePairId) ?? pair;
    }
    if (report.type !== "inbound-rtp") return;
    received += report.packetsReceived ?? 0;
    lost += report.packetsLost ?? 0;
    // One video line per call; after a renegotiation the live receiver is the busiest.
    if (report.kind === "video" && (report.packetsReceived ?? 0) >= (video?.packets ?? 0)) {
      video = {
        at: report.timestamp,
        packets: report.packetsReceived ?? 0,
        bytes: report.bytesReceived ?? 0,
        frames: report.framesDecoded ?? 0,
        qpSum: report.qpSum ?? null,
        frozen: report.totalFreezesDuration ?? 0,
        codec: stats.get(report.codecId)?.mimeType ?? null,
      };
    }
  });
  return {
    rtt: pair?.currentRoundTripTime ?? null,
    outgoing: pair?.availableOutgoingBitrate ?? null,
    received,
    lost,
    video,
  };
}

/**
 * What changed between two readings: round trip and send estimate as of the later one,
 * the share of packets lost, and the other side's video over the window (null when none
 * arrived, or there is no earlier reading).
 */
export function windowFigures(before, now) {
  const lostNow = now.lost - (before?.lost ?? 0);
  const packets = now.received - (before?.received ?? 0) + lostNow;
  const [a, b] = [before?.video, now.video];
  let video = null;
  if (a && b && b.packets > a.packets && b.at > a.at) {
    const seconds = (b.at - a.at) / 1000;
    const frames = b.frames - a.frames;
    const known = frames > 0 && a.qpSum !== null && b.qpSum !== null;
    video = {
      bitrate: ((b.bytes - a.bytes) * 8) / seconds,
      frameRate: frames / seconds,
      frozenShare: (b.frozen - a.frozen) / seconds,
      qp: known ? (b.qpSum - a.qpSum) / frames : null,
      codec: b.codec,
    };
  }
  return {
    rtt: now.rtt,
    outgoing: now.outgoing,
    lossRate: packets > 0 ? lostNow / packets : 0,
    video,
  };
}

/**
 * What we send: round trip, packets lost on what we receive, and — while the camera is
 * on — the send estimate. The estimate only grows with what is sent: sending audio alone
 * (or black frames) it stays near the browser's start value on a perfect link, so it says
 * nothing about the link unless the camera is on.
 */
export function sendLevel({ rtt, outgoing, lossRate }, { cameraOn }) {
  const below = (limit) => cameraOn && outgoing !== null && outgoing < limit;
  if ((rtt !== null && rtt > 0.8) || lossRate > 0.1 || below(POOR_SEND_ESTIMATE)) {
    return "poor";
  }
  if ((rtt !== null && rtt > 0.3) || lossRate > 0.03 || below(FAIR_SEND_ESTIMATE)) {
    return "fair";
  }
  return "good";
}

/**
 * The other side's video as it reached us over a window (see windowFigures), or null for
 * a blank picture: nothing to see, so nothing to judge.
 */
export function receiveLevel({ bitrate, frameRate, frozenShare, qp, codec }) {
  const floor = QP_FLOOR[codec];
  const atFloor = floor !== undefined && qp !== null && qp <= floor;
  if (atFloor && bitrate < BLANK_PICTURE) return null;
  // Without a known codec and QP a low rate may just be a simple picture: not judged.
  const squeezed = (limit) => floor !== undefined && qp !== null && qp > floor && bitrate < limit;
  const fallsShort = (rate, share, limit) =>
    frameRate < rate || frozenShare > share || squeezed(limit);
  if (fallsShort(POOR_FRAME_RATE, POOR_FROZEN_SHARE, POOR_RECEIVED_VIDEO)) return "poor";
  if (fallsShort(FAIR_FRAME_RATE, FAIR_FROZEN_SHARE, FAIR_RECEIVED_VIDEO)) return "fair";
  return "good";
}

/**
 * One call's quality over time: each update compares a getStats() report with the
 * previous one. `figures`, `send` and `receive` keep the last window's figures and each
 * direction's verdict for support and tests (`receive` is null while no video is judged).
 */
export class QualityMeter {
  constructor() {
    this.last = null;
    this.videoSince = null;
    this.lastWindow = null;
    this.figures = null;
    this.send = null;
    this.receive = null;
  }

  /**
   * "good", "fair" or "poor". `videoExpected`: the other side is meant to be sending us
   * video (not audio only, a video line that receives); whether it really arrives, and
   * for how long, the meter sees itself.
   */
  update(stats, { cameraOn, videoExpected }) {
    const now = readStats(stats);
    const before = this.last;
    this.last = now;
    this.figures = windowFigures(before, now);
    this.send = sendLevel(this.figures, { cameraOn });
    const video = videoExpected ? this.figures.video : null;
    const level = video === null ? null : receiveLevel(video);
    const previous = this.lastWindow ?? level;
    this.lastWindow = level;
    // The warm-up starts again whenever the video stops or goes blank (audio only, the
    // camera off), then comes back.
    this.videoSince = level === null ? null : (this.videoSince ?? before.video.at);
    const warm = level !== null && now.video.at - this.videoSince >= VIDEO_WARM_UP_MS;
    this.receive = warm ? best(level, previous) : null;
    return worst(this.send, this.receive);
  }
}

function worst(...levels) {
  return LEVELS[Math.max(...levels.map((level) => LEVELS.indexOf(level)))];
}

function best(...levels) {
  return LEVELS[Math.min(...levels.map((level) => LEVELS.indexOf(level)))];
}
