// RTCPeerConnection glue for one call, with the perfect-negotiation pattern
// (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example). The
// executive's page is the initiator and impolite; the citizen's is polite.

import { QualityMeter } from "./quality.js";

export class Call extends EventTarget {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers from welcome.iceServers
   * @param {RTCIceTransportPolicy} [options.iceTransportPolicy] from welcome: "all" or "relay"
   * @param {boolean} options.polite
   * @param {boolean} options.initiator adds its tracks at once, so it sends the first offer
   * @param {(type: string, payload: object) => void} options.send signal.* without contactId
   * @param {MediaStream|null} options.localStream
   */
  constructor({ iceServers, iceTransportPolicy, polite, initiator, send, localStream }) {
    super();
    this.iceServers = iceServers ?? [];
    this.iceTransportPolicy = iceTransportPolicy ?? "all";
    this.polite = Boolean(polite);
    this.send = send;
    this.localStream = localStream ?? null;
    this.closed = false;
    this.audioOnly = false;
    // What the other side said of its camera (call.camera), and what this side last said.
    this.peerCameraOff = false;
    this.saidCameraOff = false;
    this.facing = "user";
    // Remote messages must be applied in arrival order: a candidate handled
    // before its description would be refused.
    this.pending = Promise.resolve();
    this.createPeerConnection();
    if (initiator) this.addLocalTracks();
  }

  createPeerConnection() {
    this.remoteStream = new MediaStream();
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.tracksAdded = false;
    // A new connection's statistics start from zero: compare them with its own only.
    this.meter = new QualityMeter();
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers,
      iceTransportPolicy: this.iceTransportPolicy,
    });
    this.pc = pc;
    // Events of a replaced connection must not reach the new one's peer.
    const current = (handler) => (event) => {
      if (this.pc === pc && !this.closed) handler(event);
    };
    pc.addEventListener(
      "track",
      current(({ track }) => {
        if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
        this.dispatchEvent(new CustomEvent("remotetrack", { detail: { track } }));
      }),
    );
    pc.addEventListener(
      "icecandidate",
      current(({ candidate }) => {
        this.send("signal.candidate", { candidate: candidate ? candidate.toJSON() : null });
      }),
    );
    pc.addEventListener(
      "negotiationneeded",
      current(() => this.negotiate()),
    );
    pc.addEventListener(
      "connectionstatechange",
      current(() => {
        // A network change broke the media path while signaling still works:
        // the impolite side asks for new candidates; negotiationneeded sends the offer.
        if (pc.connectionState === "failed" && !this.polite) pc.restartIce();
        this.dispatchEvent(
          new CustomEvent("connectionstate", { detail: { state: pc.connectionState } }),
        );
      }),
    );
  }

  /**
   * The other page was reloaded: its offer comes from a new connection with a
   * new DTLS certificate, which an established connection cannot accept. Start
   * over with a fresh connection that answers it.
   */
  restartFor(description) {
    const known = this.pc.remoteDescription;
    if (description.type !== "offer" || !known) return false;
    if (fingerprint(known.sdp) === fingerprint(description.sdp)) return false;
    this.pc.close();
    for (const track of this.remoteStream.getTracks()) track.stop();
    this.createPeerConnection();
    this.dispatchEvent(new CustomEvent("restarted"));
    return true;
  }

  addLocalTracks() {
    if (this.tracksAdded || this.closed) return;
    this.tracksAdded = true;
    if (!this.localStream) return;
    for (const track of this.localStream.getTracks()) {
      this.pc.addTrack(track, this.localStream);
    }
  }

  async negotiate() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send("signal.description", { description: this.pc.localDescription.toJSON() });
    } catch (error) {
      this.fail("negotiation", error);
    } finally {
      this.makingOffer = false;
    }
  }

  /** A remote `signal.description` message's description. */
  handleDescription(description) {
    this.pending = this.pending.then(() => this.applyDescription(description));
    return this.pending;
  }

  /** A remote `signal.candidate` message's candidate (null = end of candidates). */
  handleCandidate(candidate) {
    this.pending = this.pending.then(() => this.applyCandidate(candidate));
    return this.pending;
  }

  async applyDescription(description) {
    if (this.closed || !description) return;
    try {
      this.restartFor(description);
      const pc = this.pc;
      const collision =
        description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      // On a collision the polite side's setRemoteDescription rolls back implicitly.
      await pc.setRemoteDescription(description);
      if (description.type === "offer") {
        // Added only now, so the tracks reuse the transceivers the offer created
        // and the answer is sendrecv instead of adding m-lines of its own.
        this.addLocalTracks();
        // A connection started over while audio only (the other page reloaded)
        // must not start receiving video again: audio only is both ways.
        if (this.audioOnly) {
          const video = this.videoTransceiver();
          if (video) video.direction = "inactive";
        }
        await pc.setLocalDescription();
        this.send("signal.description", { description: pc.localDescription.toJSON() });
      }
    } catch (error) {
      this.fail("description", error);
    }
  }

  async applyCandidate(candidate) {
    if (this.closed) return;
    try {
      await this.pc.addIceCandidate(candidate ?? null);
    } catch (error) {
      // Candidates of an offer we ignored are expected to fail.
      if (!this.ignoreOffer) this.fail("candidate", error);
    }
  }

  fail(stage, error) {
    console.error(`call: ${stage} failed`, error);
    this.dispatchEvent(new CustomEvent("error", { detail: { stage, error } }));
  }

  get microphoneOn() {
    return this.tracksOf("audio").some((track) => track.enabled);
  }

  get cameraOn() {
    return this.tracksOf("video").some((track) => track.enabled);
  }

  /** Turned off with its button: the track is there and sends black (audio only is apart). */
  get cameraOff() {
    return this.hasTrack("video") && !this.cameraOn;
  }

  hasTrack(kind) {
    return this.tracksOf(kind).length > 0;
  }

  /** Mute or unmute without renegotiating: a disabled track sends silence / black. */
  setMicrophone(on) {
    for (const track of this.tracksOf("audio")) track.enabled = on;
  }

  setCamera(on) {
    for (const track of this.tracksOf("video")) track.enabled = on;
  }

  /**
   * Audio only, to save data on a weak link: video stops in both directions
   * (the transceiver goes inactive, which renegotiates through the usual
   * perfect-negotiation path) and the camera is released, so its light goes off.
   */
  async setAudioOnly(on) {
    // A description being applied may be replacing the connection (the other
    // page reloaded); act on the connection it leaves, not on one half built.
    await this.pending;
    if (this.closed) return;
    const transceiver = this.videoTransceiver();
    if (on) {
      if (transceiver) {
        transceiver.direction = "inactive";
        await transceiver.sender.replaceTrack(null);
      }
      for (const track of this.tracksOf("video")) {
        track.stop();
        this.localStream.removeTrack(track);
      }
      this.audioOnly = true;
      return;
    }
    const camera = await navigator.mediaDevices.getUserMedia({
      video: { ...VIDEO, facingMode: { ideal: this.facing } },
    });
    const [track] = camera.getVideoTracks();
    this.localStream?.addTrack(track);
    if (transceiver) {
      await transceiver.sender.replaceTrack(track);
      transceiver.direction = "sendrecv";
    } else if (this.tracksAdded && this.localStream) {
      // No video line yet on this connection: adding the track negotiates one.
      this.pc.addTrack(track, this.localStream);
    }
    this.audioOnly = false;
  }

  /** Front ↔ back camera on phones (any next camera elsewhere). */
  async switchCamera() {
    const sender = this.videoSender();
    if (!sender || this.audioOnly) return;
    this.facing = this.facing === "environment" ? "user" : "environment";
    const camera = await navigator.mediaDevices.getUserMedia({
      video: { ...VIDEO, facingMode: { ideal: this.facing } },
    });
    const [track] = camera.getVideoTracks();
    for (const old of this.tracksOf("video")) {
      old.stop();
      this.localStream.removeTrack(old);
    }
    this.localStream.addTrack(track);
    await sender.replaceTrack(track);
  }

  videoSender() {
    return this.localStream ? (this.videoTransceiver()?.sender ?? null) : null;
  }

  videoTransceiver() {
    return this.pc.getTransceivers().find((t) => t.receiver.track?.kind === "video") ?? null;
  }

  /**
   * "good", "fair" or "poor" since the last sample, both ways: round trip, loss and the
   * send estimate for what we send; the other side's video as it reaches us.
   */
  async sampleQuality() {
    const { pc, meter } = this;
    const stats = await pc.getStats();
    return meter.update(stats, { cameraOn: this.cameraOn, videoExpected: this.receivingVideo });
  }

  /**
   * The other side is meant to be sending us video: not audio only, its camera not said
   * to be off (its black frames are no picture to judge), a line that receives.
   */
  get receivingVideo() {
    const direction = this.videoTransceiver()?.currentDirection;
    const expected = !this.audioOnly && !this.peerCameraOff;
    return expected && (direction === "sendrecv" || direction === "recvonly");
  }

  tracksOf(kind) {
    return this.localStream ? this.localStream.getTracks().filter((t) => t.kind === kind) : [];
  }

  /** Close the connection; the local stream belongs to the page and stays open. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    for (const track of this.remoteStream.getTracks()) track.stop();
  }
}

function fingerprint(sdp) {
  return /^a=fingerprint:\S+ (\S+)/m.exec(sdp ?? "")?.[1] ?? "";
}

// ------------------------------------------------------------ local media

export function webrtcSupported() {
  return Boolean(
    window.RTCPeerConnection && navigator.mediaDevices && navigator.mediaDevices.getUserMedia,
  );
}

const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };

/**
 * Camera and microphone, or the microphone alone when there is no camera.
 * Resolves to {stream, videoMissing}; rejects with the browser's error, whose
 * `name` explainMediaError turns into advice.
 */
export async function openLocalMedia() {
  if (!webrtcSupported()) {
    throw new DOMException("WebRTC is not available", "NotSupportedError");
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: VIDEO });
    return { stream, videoMissing: false };
  } catch (error) {
    if (error.name !== "NotFoundError" && error.name !== "OverconstrainedError") throw error;
  }
  // A missing camera must not keep someone out of the branch: try the microphone alone.
  const stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: false });
  return { stream, videoMissing: true };
}

// The browser's media error names and the catalog entry saying what happened
// and what to do: "media.<problem>.title" and "media.<problem>.text".
const MEDIA_PROBLEMS = {
  NotAllowedError: "denied",
  PermissionDeniedError: "denied",
  NotFoundError: "missing",
  OverconstrainedError: "missing",
  NotReadableError: "busy",
  TrackStartError: "busy",
  AbortError: "busy",
  NotSupportedError: "unsupported",
  SecurityError: "blocked",
};

/** {title, text}: catalog keys for what happened and what to do. */
export function explainMediaError(error) {
  const problem = MEDIA_PROBLEMS[error?.name] ?? "failed";
  return { title: `media.${problem}.title`, text: `media.${problem}.text` };
}

export function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

/** Draws the microphone level of a stream into a bar (its --level custom property). */
export class LevelMeter {
  constructor(stream, bar) {
    this.bar = bar;
    this.context = null;
    this.frame = 0;
    if (!stream.getAudioTracks().length || !window.AudioContext) return;
    this.context = new AudioContext();
    this.context.resume().catch(() => {});
    const source = this.context.createMediaStreamSource(stream);
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 512;
    source.connect(this.analyser);
    this.samples = new Float32Array(this.analyser.fftSize);
    const draw = () => {
      this.analyser.getFloatTimeDomainData(this.samples);
      let sum = 0;
      for (const sample of this.samples) sum += sample * sample;
      // RMS is small for speech; the square root spreads it over the bar.
      const level = Math.min(1, Math.sqrt(Math.sqrt(sum / this.samples.length)) * 1.6);
      this.bar.style.setProperty("--level", level.toFixed(3));
      this.bar.setAttribute("aria-valuenow", String(Math.round(level * 100)));
      this.frame = requestAnimationFrame(draw);
    };
    this.frame = requestAnimationFrame(draw);
  }

  close() {
    cancelAnimationFrame(this.frame);
    if (this.context) this.context.close();
    this.context = null;
  }
}
