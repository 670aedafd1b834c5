// The executive's desk: state bar, offered citizen, call, wrap-up. The panel
// shown follows the server's agent state; the server is the only judge of it.

import { Call, explainMediaError, openLocalMedia, stopStream } from "./call.js";
import { errorKey, formatClock, say, sayIn, secondsSince, t, useDefault } from "./i18n.js";
import { askToNotify, chime, notify } from "./alert.js";
import { ChatBox } from "./chat.js";
import { CLOSE, Signaling } from "./signaling.js";
import { storedTicket } from "./tickets.js";
import {
  playRemote,
  renderMediaToggles as renderToggles,
  showVerificationCode,
  tellCamera,
  withCurrentCall,
} from "./callview.js";

const $ = (id) => document.getElementById(id);

// Agent states with words: "executive.state.<state>"; the idle panel's "executive.idle.<state>.*".
const STATES = ["offline", "not_ready", "available", "offered", "in_call", "wrap_up"];
const IDLE_STATES = ["offline", "not_ready", "available", "offered"];
// A contact under way: a pause now waits for its end ("pause after this call").
const WITH_CONTACT = ["in_call", "wrap_up"];

const PANELS = ["idle", "offer", "call", "wrapup"];

// Pause reasons the floor sets by itself ("executive.pause.<code>"); the others come from the config.
const SYSTEM_PAUSES = new Set(["no_answer", "declined", "supervisor"]);
// Why an offer was withdrawn: "executive.cancelled.<reason>".
const CANCEL_REASONS = new Set(["citizen_left", "citizen_dropped", "no_answer", "declined"]);

const desk = {
  welcome: null,
  connected: false,
  state: "offline",
  pauseReason: null,
  pauseAfterCall: false, // a pause asked for once the contact under way and its wrap-up end
  wrapupSince: null,
  contact: null, // {contactId, folio, citizen: {name, run}, reason: {code, label, text}, joinedAt}
  wrapup: null, // {contactId, folio, reasonCode}
  stream: null,
  callPromise: null,
  callStartedAt: null,
  waiting: null,
  oldestJoinedAt: null,
  lines: [], // [{code, waiting, oldestJoinedAt}] per service served
  peerMedia: null, // {contactId, audioOnly}: the citizen's last word on their video
  peerMediaShown: null, // the notice.* key #peer-media shows
  peerCamera: null, // {contactId, cameraOff}: the citizen's last word on their camera
  ticker: 0,
};

// ------------------------------------------------------------ rendering

function showError(key, values) {
  sayIn($("error"), key, values);
}

function showNotice(key, values) {
  sayIn($("connection"), key, values);
}

function currentPanel() {
  if (desk.state === "offered" && desk.contact) return "offer";
  if (desk.state === "in_call") return "call";
  if (desk.state === "wrap_up" && desk.wrapup) return "wrapup";
  return "idle";
}

function render() {
  const shown = desk.connected ? desk.state : "offline";
  const state = { $words: STATES.includes(shown) ? `executive.state.${shown}` : "executive.state.offline" };
  const inContact = WITH_CONTACT.includes(shown);
  if (shown === "not_ready" && desk.pauseReason) {
    say($("agent-state"), "executive.state.paused", { state, pause: pauseLabel(desk.pauseReason) });
  } else if (inContact && desk.pauseAfterCall) {
    say($("agent-state"), "executive.state.pauseAfter", { state });
  } else {
    say($("agent-state"), "value", { value: state });
  }
  $("agent-state").dataset.state = shown;
  $("go-available").disabled = !desk.connected || !["not_ready", "offline"].includes(desk.state);
  const canPause = desk.connected && ["available", "not_ready"].includes(desk.state);
  $("go-not-ready").disabled = !canPause;
  $("pause-reason").disabled = !canPause && !inContact;
  $("pause-after").hidden = !inContact;
  $("pause-after").disabled = !desk.connected;
  $("pause-after").setAttribute("aria-pressed", String(desk.pauseAfterCall));
  say($("pause-after"), desk.pauseAfterCall ? "executive.pauseAfterCancel" : "executive.pauseAfter");
  document.title = t(desk.state === "offered" && desk.contact ? "executive.title.offer" : "executive.title");
  const idle = IDLE_STATES.includes(shown) ? shown : "offline";
  say($("idle-title"), `executive.idle.${idle}.title`);
  say($("idle-text"), `executive.idle.${idle}.text`);
  const panel = currentPanel();
  for (const name of PANELS) {
    const section = $(`panel-${name}`);
    const opening = name === panel && section.hidden;
    section.hidden = name !== panel;
    if (opening) section.querySelector("h1")?.focus();
  }
  tick();
}

function tick() {
  if (desk.waiting !== null) {
    const lines = desk.lines ?? [];
    const breakdown =
      lines.length > 1
        ? t("executive.queue.breakdown", {
            lines: lines.map((line) => t("executive.queue.line", { service: serviceName(line.code), count: line.waiting })).join(" · "),
          })
        : "";
    say($("queue-waiting"), "executive.queue.waiting", { people: { $words: "people", count: desk.waiting }, breakdown });
    if (desk.oldestJoinedAt) {
      say($("queue-oldest"), "executive.queue.oldest", { wait: { $minutes: secondsSince(desk.oldestJoinedAt) } });
    } else say($("queue-oldest"), null);
  }
  if (desk.contact?.joinedAt) {
    $("offer-waited").textContent = formatClock(secondsSince(desk.contact.joinedAt));
  }
  if (desk.callStartedAt) {
    $("call-duration").textContent = formatClock(Date.now() / 1000 - desk.callStartedAt);
  }
  if (desk.contact?.expiresAt && desk.state === "offered") {
    const left = Math.max(0, Math.ceil(desk.contact.expiresAt - Date.now() / 1000));
    say($("offer-countdown"), "executive.offer.countdown", { seconds: left });
  }
  if (desk.wrapupSince && desk.state === "wrap_up") {
    const limit = desk.welcome?.limits?.wrapupSeconds ?? 120;
    const left = Math.max(0, limit - (Date.now() / 1000 - desk.wrapupSince));
    say($("wrapup-countdown"), "executive.wrapup.countdown", { left: { $clock: left } });
  }
}

function pauseLabel(code) {
  const entry = (desk.welcome?.pauseReasons ?? []).find((reason) => reason.code === code);
  if (entry) return entry.label;
  return SYSTEM_PAUSES.has(code) ? { $words: `executive.pause.${code}` } : code;
}

function fillSelect(select, entries) {
  select.replaceChildren(...entries.map((entry) => new Option(entry.label, entry.code)));
}

// A short two-tone chime: an offer must be noticed even from another window.
function announceOffer(offer) {
  chime();
  notify(t("executive.offer.title"), `${offer.citizen?.name ?? ""} · ${offer.reason?.label ?? ""}`);
}

const serviceName = (code) =>
  (desk.welcome?.services ?? []).find((service) => service.code === code)?.name ?? code ?? "—";

const DATE = { dateStyle: "medium" };

function renderContact() {
  const contact = desk.contact;
  const service = contact?.service?.code ?? contact?.service;
  $("offer-service").textContent = serviceName(service);
  $("call-service").textContent = serviceName(service);
  const transfer = contact?.transfer;
  $("offer-transfer").hidden = !transfer;
  if (transfer) {
    $("offer-transfer-service").textContent = serviceName(transfer.service);
    $("offer-transfer-executive").textContent = transfer.executive ?? "—";
    $("offer-transfer-folio").textContent = transfer.folio ?? "—";
    if (transfer.note) $("offer-transfer-note").textContent = transfer.note;
    else say($("offer-transfer-note"), "executive.transfer.noNote");
  }
  // null: the records could not be read just now, which is not the same as a first contact;
  // absent: it follows the offer (offer.history).
  const history = contact?.history ?? [];
  const note =
    contact?.history === undefined
      ? "executive.history.loading"
      : contact.history === null
        ? "executive.history.unavailable"
        : "executive.history.empty";
  say($("offer-history-empty"), note);
  $("offer-history-empty").hidden = history.length > 0;
  $("offer-history").replaceChildren(
    ...history.map((item) => {
      const line = document.createElement("li");
      const outcome = item.outcome ?? { $words: "executive.history.noOutcome" };
      say(line, "executive.history.item", {
        date: { $date: item.joinedAt, ...DATE },
        service: item.service,
        reason: item.reason,
        outcome,
      });
      return line;
    }),
  );
  fillTransferTargets(service);
  const fill = (prefix) => {
    $(`${prefix}-name`).textContent = contact?.citizen?.name ?? "";
    $(`${prefix}-run`).textContent = contact?.citizen?.run ?? "";
    $(`${prefix}-reason`).textContent = contact?.reason?.label ?? "—";
    $(`${prefix}-text`).textContent = contact?.reason?.text || "—";
    $(`${prefix}-folio`).textContent = contact?.folio ?? "";
  };
  fill("offer");
  fill("call");
}

// ------------------------------------------------------------ media

async function ensureMedia() {
  if (desk.stream?.getTracks().some((track) => track.readyState === "live")) return desk.stream;
  stopStream(desk.stream);
  desk.stream = null;
  const { stream, videoMissing } = await openLocalMedia();
  desk.stream = stream;
  say($("media-status"), videoMissing ? "executive.microphoneOnly" : null);
  return stream;
}

async function goAvailable() {
  $("go-available").disabled = true;
  // Lets an offer reach a hidden window.
  askToNotify();
  try {
    await ensureMedia();
  } catch (error) {
    const { title, text } = explainMediaError(error);
    showError("executive.mediaProblem", { title: { $words: title }, text: { $words: text } });
    render();
    return;
  }
  showError(null);
  signaling.send("agent.available");
}

// ------------------------------------------------------------ call

function startCall(fields) {
  closeCall();
  const contactId = fields.contactId;
  if (contactId !== desk.chatFor) {
    chat.load(fields.chat);
    desk.chatFor = contactId;
  }
  if (desk.contact?.contactId !== contactId) {
    desk.contact = {
      contactId,
      folio: fields.folio,
      citizen: fields.peer,
      reason: null,
      service: fields.service,
    };
  }
  desk.contact.folio = fields.folio ?? desk.contact.folio;
  // The citizen's "audio only" may have arrived before this page's welcome (a reload).
  if (desk.peerMedia?.contactId === contactId && desk.peerMedia.audioOnly) {
    showPeerMedia("peerAudioOnly");
  }
  desk.callStartedAt = Date.now() / 1000;
  renderContact();
  sayIn($("call-status"), "call.connecting");
  $("hangup").disabled = false;
  desk.callPromise = (async () => {
    try {
      await ensureMedia();
    } catch (error) {
      showError(explainMediaError(error).title);
    }
    const call = new Call({
      iceServers: desk.welcome?.iceServers ?? [],
      iceTransportPolicy: desk.welcome?.iceTransportPolicy,
      polite: fields.polite ?? false,
      initiator: fields.initiator ?? true,
      localStream: desk.stream,
      send: (type, payload) => signaling.send(type, { contactId, ...payload }),
    });
    call.contactId = contactId;
    if (desk.peerCamera?.contactId === contactId) showPeerCamera(call, desk.peerCamera.cameraOff);
    playRemote(call);
    call.addEventListener("connectionstate", ({ detail }) => {
      const keys = {
        new: "call.connecting",
        connecting: "call.connecting",
        disconnected: "call.unstable",
        failed: "executive.call.failed",
      };
      sayIn($("call-status"), keys[detail.state] ?? null);
      if (detail.state === "connected") showVerificationCode(call);
    });
    $("self-video").srcObject = desk.stream;
    $("toggle-camera").hidden = !call.hasTrack("video");
    $("toggle-mic").hidden = !call.hasTrack("audio");
    renderToggles(call);
    // A debug hook for tests and support: the active call, nothing more.
    window.branchCall = call;
    return call;
  })();
}

function withCall(contactId, action) {
  withCurrentCall(desk.callPromise, contactId, action);
}

/** The server's word on the citizen's video, so a reloaded desk need not wait for their page. */
function rememberPeerMedia({ contactId, audioOnly = false }) {
  const shown = desk.peerMedia?.contactId === contactId && desk.peerMedia.audioOnly;
  desk.peerMedia = { contactId, audioOnly };
  // A new call is shown by startCall; one kept over a reconnect is shown here if it changed.
  if (desk.callPromise && shown !== audioOnly) showPeerMedia(audioOnly ? "peerAudioOnly" : null);
}

/** Why the citizen's video stopped, or that it is back; nothing once the call is over. */
function showPeerMedia(key) {
  desk.peerMediaShown = key;
  sayIn($("peer-media"), key ? `notice.${key}` : null);
  $("remote-video").classList.toggle("audio-only", key === "peerAudioOnly");
}

/** What the citizen said of their camera; audio only, said apart, keeps its own words. */
function showPeerCamera(call, cameraOff) {
  call.peerCameraOff = cameraOff;
  if (cameraOff) showPeerMedia("peerCameraOff");
  else if (desk.peerMediaShown === "peerCameraOff") showPeerMedia(null);
}

function closeCall() {
  showPeerMedia(null);
  $("verify-code").textContent = "—";
  const previous = desk.callPromise;
  desk.callPromise = null;
  previous?.then((call) => call.close());
  window.branchCall = null;
  desk.callStartedAt = null;
  $("remote-video").srcObject = null;
  $("self-video").srcObject = null;
}

// ------------------------------------------------------------ wrap-up

function fillCatalogs(welcome) {
  const outcome = $("outcome");
  const choose = new Option("", "");
  say(choose, "executive.wrapup.choose");
  outcome.replaceChildren(choose);
  for (const entry of welcome.outcomes ?? []) outcome.append(new Option(entry.label, entry.code));
  fillWrapupReasons(null);
  $("notes").maxLength = welcome.limits?.notes ?? 4000;
  $("transfer-note").maxLength = welcome.limits?.notes ?? 4000;
  renderNotesCount();
}

/** The reasons of the contact's service (every service's when unknown), without repeats. */
function fillWrapupReasons(serviceCode) {
  const services = desk.welcome?.services ?? [];
  const chosen = services.filter((service) => !serviceCode || service.code === serviceCode);
  const seen = new Set();
  const reason = $("wrapup-reason");
  reason.replaceChildren();
  for (const service of chosen.length ? chosen : services) {
    for (const entry of service.reasons) {
      if (seen.has(entry.code)) continue;
      seen.add(entry.code);
      reason.append(new Option(entry.label, entry.code));
    }
  }
}

function fillTransferTargets(currentService) {
  const select = $("transfer-service");
  const targets = (desk.welcome?.services ?? []).filter((s) => s.code !== currentService);
  select.replaceChildren(...targets.map((s) => new Option(s.name, s.code)));
  $("transfer-form").hidden = targets.length === 0;
}

function submitTransfer(event) {
  event.preventDefault();
  const contactId = desk.contact?.contactId;
  if (!contactId || !$("transfer-service").value) return;
  $("transfer-submit").disabled = true;
  const sent = signaling.send("call.transfer", {
    contactId,
    service: $("transfer-service").value,
    note: $("transfer-note").value.trim(),
  });
  if (!sent) {
    $("transfer-submit").disabled = false;
    showError("executive.transfer.offline");
  }
}

function openWrapup(wrapup) {
  const fresh = desk.wrapup?.contactId !== wrapup.contactId;
  desk.wrapup = wrapup;
  say($("wrapup-folio"), wrapup.folio ? "executive.wrapup.folio" : null, { folio: wrapup.folio });
  if (fresh) {
    $("wrapup-form").reset();
    fillWrapupReasons(wrapup.service);
    $("wrapup-reason").value = wrapup.reasonCode ?? "";
    $("outcome-error").hidden = true;
    renderNotesCount();
  }
  $("wrapup-submit").disabled = false;
}

function renderNotesCount() {
  say($("notes-count"), "characters", { count: $("notes").value.length, limit: $("notes").maxLength });
}

function submitWrapup(event) {
  event.preventDefault();
  if (!desk.wrapup) return;
  const missing = !$("outcome").value;
  $("outcome-error").hidden = !missing;
  $("outcome").setAttribute("aria-invalid", String(missing));
  if (missing) {
    $("outcome").focus();
    return;
  }
  $("wrapup-submit").disabled = true;
  const sent = signaling.send("wrapup.submit", {
    contactId: desk.wrapup.contactId,
    outcome: $("outcome").value,
    reason: $("wrapup-reason").value,
    notes: $("notes").value.trim(),
    then: $("then-not-ready").checked ? "not_ready" : "available",
  });
  if (!sent) {
    $("wrapup-submit").disabled = false;
    showError("executive.wrapup.offline");
  }
}

// ------------------------------------------------------------ signaling

function onWelcome(message) {
  desk.welcome = message;
  desk.connected = true;
  useDefault(message.language);
  showNotice(null);
  if (message.serviceName) $("service-name").textContent = message.serviceName;
  $("person-name").textContent = message.person?.name ?? "";
  fillCatalogs(message);
  fillSelect($("pause-reason"), message.pauseReasons ?? []);
  fillSelect($("decline-reason"), message.declineReasons ?? []);
  const { agent, offer, call, wrapup } = message.state ?? {};
  desk.state = agent?.state ?? "offline";
  desk.pauseReason = agent?.reason ?? null;
  desk.pauseAfterCall = Boolean(agent?.pauseAfterCall);
  desk.wrapupSince = agent?.state === "wrap_up" ? agent.since : null;
  if (offer) desk.contact = { ...offer };
  if (call) rememberPeerMedia(call);
  // After a mere reconnect the media path is intact: keep the call going.
  if (call) callTicket.keep(call.ticket);
  if (call && !desk.callPromise) startCall(call);
  else if (!call && desk.callPromise) closeCall();
  // Only the socket came back: whatever was said of the camera meanwhile never arrived.
  else if (call) {
    withCall(call.contactId, (current) => {
      if (current.cameraOff || current.saidCameraOff) tellCamera(signaling, current, true);
    });
  }
  if (wrapup) openWrapup(wrapup);
  renderContact();
  render();
}

function onClose({ code, final, retryInMs }) {
  desk.connected = false;
  if (code === CLOSE.NOT_AUTHENTICATED) {
    location.assign("/login?next=/executive");
    return;
  }
  if (code === CLOSE.SESSION_ENDED) {
    location.assign("/");
    return;
  }
  if (code === CLOSE.REPLACED) {
    closeCall();
    stopStream(desk.stream);
    desk.stream = null;
    showNotice("executive.replaced");
  } else if (!final) {
    const seconds = Math.max(1, Math.round(retryInMs / 1000));
    showNotice("connection.retrying", { seconds });
  }
  render();
}

// This desk's proof of its call, presented if the server loses it (docs/protocol.md, "Call tickets").
const callTicket = storedTicket("branch.executiveCallTicket");

const signaling = new Signaling({ onClose });

signaling
  .on("welcome", onWelcome)
  .on("error", (message) => {
    showError(errorKey(message.code));
    if (message.replyTo === "offer.accept") $("accept").disabled = false;
    if (message.replyTo === "wrapup.submit") $("wrapup-submit").disabled = false;
    if (message.replyTo === "call.transfer") $("transfer-submit").disabled = false;
    if (message.replyTo === "call.reclaim") {
      // Not restored: be on the floor at least, paused, rather than missing from it.
      callTicket.drop();
      showError(errorKey(message.code, "call"));
      signaling.send("agent.not_ready", { reason: desk.pauseReason ?? "" });
    }
    render();
  })
  .on("queue.reclaim", () => {
    // The server lost its live state (Redis restarted empty): say again where this desk is;
    // in a call or its wrap-up, the call ticket puts the contact back with the desk in it.
    const held = callTicket.held();
    if (held && (desk.callPromise || desk.state === "in_call" || desk.state === "wrap_up")) {
      signaling.send("call.reclaim", { ticket: held });
    } else if (desk.state === "available") {
      signaling.send("agent.available");
    } else if (desk.state === "not_ready" || desk.state === "wrap_up") {
      signaling.send("agent.not_ready", { reason: desk.pauseReason ?? "" });
    }
  })
  .on("agent.state", (message) => {
    desk.state = message.state;
    desk.pauseReason = message.reason ?? null;
    desk.pauseAfterCall = Boolean(message.pauseAfterCall);
    desk.wrapupSince = message.state === "wrap_up" ? message.since : null;
    // The camera light should not stay on while nobody can be offered.
    if (["not_ready", "offline"].includes(message.state) && !desk.callPromise) {
      stopStream(desk.stream);
      desk.stream = null;
    }
    render();
  })
  .on("queue.summary", (message) => {
    desk.waiting = message.waiting;
    desk.oldestJoinedAt = message.oldestJoinedAt;
    desk.lines = message.services ?? [];
    tick();
  })
  .on("offer", (message) => {
    showError(null);
    desk.contact = { ...message };
    $("accept").disabled = false;
    $("decline").disabled = false;
    renderContact();
    render();
    announceOffer(message);
  })
  .on("offer.history", (message) => {
    if (desk.contact?.contactId !== message.contactId) return;
    desk.contact = { ...desk.contact, history: message.history };
    renderContact();
  })
  .on("offer.cancelled", (message) => {
    if (desk.contact?.contactId !== message.contactId) return;
    desk.contact = null;
    showNotice(CANCEL_REASONS.has(message.reason) ? `executive.cancelled.${message.reason}` : "executive.cancelled.other");
    render();
  })
  .on("call.started", (message) => {
    callTicket.keep(message.ticket);
    showNotice(null);
    startCall(message);
    render();
  })
  .on("signal.description", ({ contactId, description }) =>
    withCall(contactId, (call) => call.handleDescription(description)),
  )
  .on("signal.candidate", ({ contactId, candidate }) =>
    withCall(contactId, (call) => call.handleCandidate(candidate)),
  )
  .on("chat.message", (message) => {
    if (message.contactId === desk.contact?.contactId) chat.add(message);
  })
  .on("call.reconnecting", ({ contactId }) => {
    if (desk.contact?.contactId !== contactId) return;
    sayIn($("call-status"), "executive.call.peerLost");
  })
  .on("call.resumed", ({ contactId, who }) => {
    if (desk.contact?.contactId !== contactId) return;
    sayIn($("call-status"), "executive.call.peerBack");
    // A reloaded citizen page starts with its video on; it says so if it goes audio only
    // or turns its camera off again. It must hear again that this desk's camera is off.
    if (who === "citizen") {
      desk.peerMedia = null;
      desk.peerCamera = null;
      showPeerMedia(null);
      withCall(contactId, (call) => {
        call.peerCameraOff = false;
        if (call.cameraOff) tellCamera(signaling, call, true);
      });
    }
  })
  .on("call.camera", ({ contactId, cameraOff }) => {
    // Kept: after a reload it may come before the welcome that starts this desk's call.
    desk.peerCamera = { contactId, cameraOff };
    withCall(contactId, (call) => showPeerCamera(call, cameraOff));
  })
  .on("call.audio_only", ({ contactId, audioOnly }) => {
    desk.peerMedia = { contactId, audioOnly };
    if (desk.contact?.contactId !== contactId || !desk.callPromise) return;
    showPeerMedia(audioOnly ? "peerAudioOnly" : "peerVideoBack");
  })
  .on("call.ended", (message) => {
    if (desk.contact?.contactId !== message.contactId && !desk.callPromise) return;
    closeCall();
    $("transfer-submit").disabled = false;
    $("transfer-form").reset();
    if (message.reason === "transferred") showNotice("executive.ended.transferred");
    else if (message.by === "citizen") showNotice("executive.ended.citizen");
    else if (message.reason === "citizen_dropped") showNotice("executive.ended.dropped");
    openWrapup({
      contactId: message.contactId,
      folio: desk.contact?.folio,
      reasonCode: desk.contact?.reason?.code,
      service: desk.contact?.service?.code ?? desk.contact?.service,
    });
    render();
  })
  .on("wrapup.saved", (message) => {
    if (desk.wrapup?.contactId !== message.contactId) return;
    callTicket.drop();
    desk.wrapup = null;
    desk.contact = null;
    $("wrapup-form").reset();
    showError(null);
    showNotice(message.timedOut ? "executive.wrapup.timedOut" : "executive.wrapup.saved");
    render();
  });

// ------------------------------------------------------------ wiring

const chat = new ChatBox({
  log: $("chat-log"),
  form: $("chat-form"),
  role: "executive",
  send: (text) => {
    const contactId = desk.contact?.contactId;
    return Boolean(contactId) && signaling.send("chat.send", { contactId, text });
  },
});

$("go-available").addEventListener("click", goAvailable);
$("transfer-form").addEventListener("submit", submitTransfer);
$("go-not-ready").addEventListener("click", () => {
  $("go-not-ready").disabled = true;
  signaling.send("agent.not_ready", { reason: $("pause-reason").value });
});
$("pause-after").addEventListener("click", () => {
  $("pause-after").disabled = true; // until the server's agent.state says what it did
  const pending = !desk.pauseAfterCall;
  signaling.send("agent.pause_after", pending ? { pending, reason: $("pause-reason").value } : { pending });
});
$("decline").addEventListener("click", () => {
  if (!desk.contact) return;
  $("decline").disabled = true;
  signaling.send("offer.decline", { contactId: desk.contact.contactId, reason: $("decline-reason").value });
});
$("accept").addEventListener("click", async () => {
  if (!desk.contact) return;
  $("accept").disabled = true;
  try {
    await ensureMedia();
  } catch (error) {
    showError(explainMediaError(error).title);
  }
  signaling.send("offer.accept", { contactId: desk.contact.contactId });
});
$("hangup").addEventListener("click", () => {
  if (!desk.contact) return;
  $("hangup").disabled = true;
  signaling.send("call.hangup", { contactId: desk.contact.contactId });
});
$("toggle-mic").addEventListener("click", () =>
  withCall(desk.contact?.contactId, (call) => {
    call.setMicrophone(!call.microphoneOn);
    renderToggles(call);
  }),
);
$("toggle-camera").addEventListener("click", () =>
  withCall(desk.contact?.contactId, (call) => {
    call.setCamera(!call.cameraOn);
    tellCamera(signaling, call);
    renderToggles(call);
  }),
);
$("wrapup-form").addEventListener("submit", submitWrapup);
$("notes").addEventListener("input", renderNotesCount);
$("outcome").addEventListener("change", () => {
  if ($("outcome").value) $("outcome-error").hidden = true;
});
window.addEventListener("pagehide", () => signaling.close());
window.addEventListener("branch:language", () => render());
window.addEventListener("pageshow", (event) => {
  if (event.persisted) signaling.connect();
});

desk.ticker = setInterval(tick, 1000);
signaling.connect();
