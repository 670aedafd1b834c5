// The citizen's page: reason → device check → queue → call → thanks.
// One step is visible at a time; the server's state (welcome.state) decides
// where a reloaded or reconnected page resumes.

import { Call, LevelMeter, explainMediaError, openLocalMedia, stopStream } from "./call.js";
import {
  errorKey,
  formatClock,
  noticeValues,
  say,
  sayIn,
  secondsSince,
  t,
  useDefault,
} from "./i18n.js";
import { askToNotify, chime, notify } from "./alert.js";
import { ChatBox } from "./chat.js";
import { CLOSE, Signaling } from "./signaling.js";
import { storedTicket } from "./tickets.js";
import {
  playRemote,
  renderMediaToggles,
  showVerificationCode,
  tellCamera,
  withCurrentCall,
} from "./callview.js";

const $ = (id) => document.getElementById(id);

/** A supervisor's message to everyone waiting; the region is always there so it is announced. */
function showBranchNotice(text) {
  const region = $("branch-notice");
  if (!text) {
    region.replaceChildren();
    return;
  }
  const line = document.createElement("p");
  line.className = "notice";
  const label = document.createElement("strong");
  say(label, "citizen.branchNotice"); // follows a language switch; the text is the supervisor's
  line.append(label, " ", text);
  region.replaceChildren(line);
}

const STEPS = ["loading", "reason", "devices", "waiting", "connecting", "call", "ended", "replaced", "expired"];
const IN_LINE = new Set(["waiting", "connecting", "call"]);

const page = {
  step: "loading",
  welcome: null,
  stream: null,
  videoMissing: false,
  meter: null,
  contactId: null,
  folio: null,
  joinedAt: null,
  ticker: 0,
  callPromise: null,
  peerCamera: null, // {contactId, cameraOff}: the executive's last word on their camera
};

// ------------------------------------------------------------ small view helpers

function showStep(step) {
  if (!STEPS.includes(step)) throw new Error(`unknown step ${step}`);
  const changed = page.step !== step;
  page.step = step;
  for (const name of STEPS) $(`step-${name}`).hidden = name !== step;
  document.body.dataset.step = step;
  clearInterval(page.ticker);
  if (step === "waiting") {
    page.ticker = setInterval(renderWaited, 1000);
    renderWaited();
  }
  // Screen-reader and keyboard users land on the new step's heading.
  if (changed) $(`step-${step}`).querySelector("h1")?.focus();
}

/** The problem box: a catalog key and its values; no key hides it. */
function showError(key, values) {
  sayIn($("error"), key, values);
}

function showNotice(key, values) {
  sayIn($("connection"), key, values);
}

// ------------------------------------------------------------ step 1: service and reason

const services = () => page.welcome?.services ?? [];
const chosenService = () => services().find((s) => s.code === $("service").value) ?? services()[0];

const serviceName = (service) => (document.documentElement.lang === "en" && service.nameEn) || service.name;

function fillServices() {
  const select = $("service");
  const chosen = select.value;
  const label = (s) => (s.open ? serviceName(s) : t("citizen.reason.closedService", { service: serviceName(s) }));
  const same =
    select.options.length === services().length &&
    services().every((s, i) => select.options[i].value === s.code);
  // Relabel in place when only the statuses changed, so an open list is not reset under a finger.
  if (same) services().forEach((s, i) => (select.options[i].text = label(s)));
  else select.replaceChildren(...services().map((s) => new Option(label(s), s.code)));
  if (services().some((s) => s.code === chosen)) select.value = chosen;
  $("service-field").hidden = services().length < 2;
}

function onServiceChange() {
  const service = chosenService();
  if (!service) return;
  fillReasons(service.reasons, page.welcome?.limits?.reasonText ?? 500);
  renderServiceStatus();
}

/** The chosen service's status where the citizen is: choosing it, or checking the camera. */
function renderServiceStatus() {
  const service = chosenService();
  const [key, values] = service ? serviceStatus(service) : [null];
  sayIn($("service-status"), key, values);
  sayIn($("join-status"), key, values);
}

/**
 * What a citizen should know before joining (closed, nobody attending, full, too
 * long a wait) as [catalog key, values]; [null] when nothing. A refusal to join
 * with the same code is worded the same way (see the "error" handler).
 */
function serviceStatus(service, refusal = null) {
  const values = {
    service: serviceName(service),
    opensAt: service.opensAt,
    timeZone: service.timezone,
    waiting: service.waiting,
    estimate: service.estimatedWaitSeconds ?? 0,
  };
  const key = refusal ?? (!service.open ? "closed" : service.refusal ?? (service.staffed === 0 ? "unstaffed" : null));
  if (!key) return [null];
  return [`notice.${key}`, noticeValues(key, values)];
}

/** A service's status changed (server push): merge it; show it unless already in line. */
function onServiceStatus({ services: statuses }) {
  if (!page.welcome) return;
  const byCode = new Map(statuses.map((status) => [status.code, status]));
  page.welcome.services = services().map((s) => ({ ...s, ...byCode.get(s.code) }));
  if (IN_LINE.has(page.step)) return;
  fillServices();
  renderServiceStatus();
}

function fillReasons(reasons, limit) {
  const select = $("reason");
  const chosen = select.value;
  const choose = new Option("", "");
  say(choose, "citizen.reason.choose");
  select.replaceChildren(choose);
  for (const reason of reasons) select.append(new Option(reason.label, reason.code));
  select.value = reasons.some((r) => r.code === chosen) ? chosen : "";
  const text = $("reason-text");
  text.maxLength = limit;
  renderCount();
}

function renderCount() {
  const text = $("reason-text");
  say($("reason-count"), "characters", { count: text.value.length, limit: text.maxLength });
}

function submitReason(event) {
  event.preventDefault();
  const service = chosenService();
  if (service && !service.open) {
    showError(...serviceStatus(service));
    return;
  }
  const missing = !$("reason").value;
  $("reason-error").hidden = !missing;
  $("reason").setAttribute("aria-invalid", String(missing));
  if (missing) {
    $("reason").focus();
    return;
  }
  showError(null);
  showStep("devices");
  checkDevices();
}

// ------------------------------------------------------------ step 2: device check

async function checkDevices() {
  $("join").disabled = true;
  $("retry-devices").hidden = true;
  $("device-problem").hidden = true;
  say($("device-status"), "citizen.devices.asking");
  try {
    await ensureMedia({ fresh: true });
  } catch (error) {
    const { title, text } = explainMediaError(error);
    say($("device-problem-title"), title);
    say($("device-problem-text"), text);
    $("device-problem").hidden = false;
    say($("device-status"), null);
    // An empty black preview would push the advice below the fold on a phone.
    $("preview-box").hidden = true;
    $("meter-row").hidden = true;
    $("retry-devices").hidden = error.name === "NotSupportedError";
    return;
  }
  $("preview-box").hidden = false;
  $("meter-row").hidden = false;
  $("preview").srcObject = page.stream;
  $("preview-off").hidden = !page.videoMissing;
  page.meter?.close();
  page.meter = new LevelMeter(page.stream, $("mic-level"));
  say($("device-status"), page.videoMissing ? "citizen.devices.microphoneOnly" : "citizen.devices.working");
  $("retry-devices").hidden = !page.videoMissing;
  $("join").disabled = false;
}

async function ensureMedia({ fresh = false } = {}) {
  const live = page.stream?.getTracks().some((track) => track.readyState === "live");
  if (live && !fresh) return page.stream;
  releaseMedia();
  const { stream, videoMissing } = await openLocalMedia();
  page.stream = stream;
  page.videoMissing = videoMissing;
  return stream;
}

function releaseMedia() {
  page.meter?.close();
  page.meter = null;
  stopStream(page.stream);
  page.stream = null;
  $("preview").srcObject = null;
}

function join() {
  $("join").disabled = true;
  // Lets "you are next" reach a page left in the background.
  askToNotify();
  page.meter?.close();
  page.meter = null;
  const sent = signaling.send("queue.join", {
    service: chosenService()?.code ?? "",
    reason: $("reason").value,
    text: $("reason-text").value.trim(),
  });
  if (!sent) {
    $("join").disabled = false;
    showError("citizen.offline");
  }
}

// ------------------------------------------------------------ step 3: waiting

function renderQueue(fields) {
  const { contactId, folio, position, waiting, estimatedWaitSeconds, joinedAt, service, staffed } =
    fields;
  if (service) {
    page.service = service;
    const known = services().find((s) => s.code === service);
    $("waiting-service").textContent = known ? serviceName(known) : service;
    const limit = known?.hardMaxWaitSeconds;
    sayIn($("waiting-limit"), limit ? "notice.waitLimitAhead" : null, noticeValues("waitLimitAhead", { limit }));
  }
  if (typeof staffed === "number") $("waiting-staffing").hidden = staffed > 0;
  if (contactId) page.contactId = contactId;
  if (folio) page.folio = folio;
  if (joinedAt) page.joinedAt = joinedAt;
  if (typeof position === "number") {
    say($("position"), position === 1 ? "citizen.waiting.next" : "citizen.waiting.position", { position });
    announceTurn(position);
  }
  if (typeof waiting === "number") say($("waiting-count"), "people", { count: waiting });
  if (estimatedWaitSeconds === null) say($("estimate"), "citizen.waiting.noEstimate");
  else if (estimatedWaitSeconds !== undefined) {
    say($("estimate"), "citizen.waiting.estimate", { wait: { $minutes: estimatedWaitSeconds } });
  }
  const shownFolio = page.folio ?? "—";
  if ($("waiting-folio").textContent !== shownFolio) $("waiting-folio").textContent = shownFolio;
}

// The tab's title: the service's name once the welcome arrives, marked when next or in a call.
const titles = { name: null, mark: null };

function renderTitle() {
  const name = titles.name ?? t("brand");
  document.title = titles.mark ? t(titles.mark, { name }) : name;
}

function markTitle(mark) {
  titles.mark = mark;
  renderTitle();
}

/** Once per contact, when the citizen becomes next: chime, title and notification. */
function announceTurn(position) {
  const next = position === 1;
  markTitle(next ? "citizen.title.next" : null);
  if (!next || page.announcedNext === page.contactId) return;
  page.announcedNext = page.contactId;
  chime();
  notify(t("citizen.waiting.next"), t("citizen.notify.nextText"));
}

function renderWaited() {
  if (page.joinedAt) $("waited").textContent = formatClock(secondsSince(page.joinedAt));
}

// ------------------------------------------------------------ step 4: readiness

/**
 * The executive is offered this citizen only once the page says it is here
 * with live media: the camera and microphone are (re)opened if the browser
 * released them while waiting, e.g. a phone that locked.
 */
async function confirmReady(contactId) {
  try {
    const stream = await ensureMedia();
    const live = stream.getAudioTracks().some((track) => track.readyState === "live");
    if (!live) throw new DOMException("no live microphone", "NotReadableError");
  } catch (error) {
    showStep("waiting");
    showError(explainMediaError(error).title);
    return;
  }
  if (page.contactId !== contactId) return;
  $("skipped").hidden = true;
  signaling.send("queue.ready", { contactId });
}

// ------------------------------------------------------------ step 5: call

function announceCall(fields) {
  markTitle("citizen.title.call");
  chime();
  const executive = fields.peer?.name || t("citizen.call.anExecutive");
  notify(t("citizen.notify.callTitle"), t("citizen.notify.callText", { executive }));
  // Read out at once, over whatever the screen reader was saying: the call has begun.
  say($("call-announce"), "citizen.call.started", { executive });
}

function startCall(fields) {
  if (fields.contactId !== page.chatFor) {
    chat.load(fields.chat);
    page.chatFor = fields.contactId;
  }
  page.contactId = fields.contactId;
  page.folio = fields.folio ?? page.folio;
  if (fields.peer?.name) $("peer-name").textContent = fields.peer.name;
  else say($("peer-name"), "citizen.call.anExecutive");
  say($("call-status"), "call.connecting");
  $("call-status").hidden = false;
  showStep("call");
  const contactId = fields.contactId;
  closeCall();
  page.callPromise = (async () => {
    try {
      await ensureMedia();
    } catch (error) {
      // Still join the call to see and hear the executive; say why we are not seen.
      showError(explainMediaError(error).title);
    }
    const call = new Call({
      iceServers: page.welcome?.iceServers ?? [],
      iceTransportPolicy: page.welcome?.iceTransportPolicy,
      polite: fields.polite ?? true,
      initiator: fields.initiator ?? false,
      localStream: page.stream,
      send: (type, payload) => signaling.send(type, { contactId, ...payload }),
    });
    call.contactId = contactId;
    if (page.peerCamera?.contactId === contactId) showPeerCamera(call, page.peerCamera.cameraOff);
    playRemote(call);
    call.addEventListener("connectionstate", ({ detail }) => {
      renderConnection(detail.state);
      if (detail.state === "connected") showVerificationCode(call);
    });
    $("self-video").srcObject = page.stream;
    $("self-video").hidden = !page.stream || page.videoMissing;
    $("toggle-camera").hidden = !call.hasTrack("video");
    $("toggle-mic").hidden = !call.hasTrack("audio");
    $("toggle-audio-only").hidden = !call.hasTrack("video");
    renderToggles(call);
    renderCameraSwitch(call);
    watchQuality(call);
    // A debug hook for tests and support: the active call, nothing more.
    window.branchCall = call;
    return call;
  })();
}

/** Every few seconds: show the link quality; after two poor samples, suggest audio only. */
function watchQuality(call) {
  clearInterval(page.qualityTimer);
  let poorInARow = 0;
  page.qualityTimer = setInterval(async () => {
    if (call.closed) return clearInterval(page.qualityTimer);
    if (call.pc.connectionState !== "connected") return;
    const quality = await call.sampleQuality();
    say($("call-quality"), `call.quality.${quality}`);
    poorInARow = quality === "poor" ? poorInARow + 1 : 0;
    $("quality-hint").hidden = poorInARow < 2 || call.audioOnly;
  }, 3000);
}

async function renderCameraSwitch(call) {
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  const cameras = devices.filter((device) => device.kind === "videoinput");
  $("switch-camera").hidden = cameras.length < 2 || call.audioOnly || !call.hasTrack("video");
}

async function setAudioOnly(call, on) {
  $("toggle-audio-only").disabled = true;
  try {
    await call.setAudioOnly(on);
    showError(null);
    // The executive's page says why the video stopped (or came back).
    signaling.send("call.audio_only", { contactId: call.contactId, audioOnly: call.audioOnly });
    // Back with a camera that is on: a camera said off before is not any more.
    tellCamera(signaling, call);
  } catch (error) {
    showError(explainMediaError(error).title);
  } finally {
    $("toggle-audio-only").disabled = false;
  }
  $("self-video").hidden = call.audioOnly || page.videoMissing;
  $("toggle-camera").hidden = call.audioOnly;
  $("quality-hint").hidden = true;
  renderToggles(call);
  renderCameraSwitch(call);
}

function renderConnection(state) {
  const keys = {
    new: "call.connecting",
    connecting: "call.connecting",
    disconnected: "call.unstable",
    failed: "citizen.call.failed",
  };
  sayIn($("call-status"), keys[state] ?? null);
}

function renderToggles(call) {
  renderMediaToggles(call);
  say($("toggle-audio-only"), call.audioOnly ? "call.videoBack" : "call.audioOnly");
  $("toggle-audio-only").setAttribute("aria-pressed", String(call.audioOnly));
}

function withCall(contactId, action) {
  withCurrentCall(page.callPromise, contactId, action);
}

/** What the executive said of their camera; nothing once the call is over. */
function showPeerCamera(call, cameraOff) {
  call.peerCameraOff = cameraOff;
  sayIn($("peer-media"), cameraOff ? "notice.executiveCameraOff" : null);
}

function closeCall() {
  clearInterval(page.qualityTimer);
  sayIn($("peer-media"), null);
  $("verify-code").textContent = "—";
  $("quality-hint").hidden = true;
  say($("call-quality"), null);
  $("call-quality").textContent = "—";
  const previous = page.callPromise;
  page.callPromise = null;
  previous?.then((call) => call.close());
  window.branchCall = null;
  $("remote-video").srcObject = null;
  $("self-video").srcObject = null;
}


function endCall({ contactId, reason, by, receipt }) {
  if (contactId !== page.contactId) return;
  ticket.drop(); // a transfer's new contact brings its own
  callTicket.drop();
  closeCall();
  if (reason === "transferred") {
    // The new contact's queue.joined follows; the camera stays on for the next executive.
    page.contactId = null;
    showNotice("citizen.transferred");
    showStep("waiting");
    return;
  }
  releaseMedia();
  const ended = ["citizen", "executive", "system"].includes(by) ? `citizen.ended.by.${by}` : "citizen.ended.ended";
  const dropped = reason === "executive_dropped" ? { $words: "citizen.ended.dropped" } : "";
  say($("ended-text"), "citizen.ended.text", { ended: { $words: ended }, dropped });
  $("ended-folio").textContent = receipt?.folio ?? page.folio ?? "—";
  renderReceipt(receipt);
  page.surveyFor = receipt?.answeredAt ? contactId : null;
  $("survey-form").reset();
  $("survey-form").hidden = !page.surveyFor;
  $("survey-send").disabled = false;
  $("survey-error").hidden = true;
  $("survey-thanks").hidden = true;
  page.contactId = null;
  markTitle(null);
  showStep("ended");
}

const DATE_FORMAT = { dateStyle: "long", timeStyle: "short" };

function renderReceipt(receipt) {
  $("receipt").hidden = !receipt;
  if (!receipt) return;
  $("receipt-service").textContent = receipt.service;
  $("receipt-reason").textContent = receipt.reason;
  $("receipt-executive").textContent = receipt.executive ?? "—";
  const { joinedAt, answeredAt, endedAt } = receipt;
  const none = { $words: "none" };
  say($("receipt-waited"), "value", { value: answeredAt ? { $minutes: answeredAt - joinedAt } : none });
  say($("receipt-talked"), "value", { value: answeredAt ? { $clock: endedAt - answeredAt } : none });
  say($("receipt-date"), "value", { value: { $date: joinedAt, ...DATE_FORMAT } });
}

function submitSurvey(event) {
  event.preventDefault();
  const chosen = $("survey-form").querySelector("input[name=score]:checked");
  $("survey-error").hidden = Boolean(chosen);
  if (!chosen || !page.surveyFor) return;
  const sent = signaling.send("survey.submit", {
    contactId: page.surveyFor,
    score: Number(chosen.value),
    comment: $("survey-comment").value,
  });
  $("survey-send").disabled = sent;
}

// ------------------------------------------------------------ tickets

const ticket = storedTicket("branch.queueTicket");
const callTicket = storedTicket("branch.callTicket");

function presentTicket() {
  const held = ticket.held();
  return Boolean(held) && signaling.send("queue.resume", { ticket: held });
}

/** In a call the server lost: the call ticket puts it back, with the executive in it. */
function presentCallTicket() {
  const held = callTicket.held();
  return page.step === "call" && Boolean(held) && signaling.send("call.reclaim", { ticket: held });
}

function lostPlace() {
  if (page.step === "loading" || page.step === "replaced" || IN_LINE.has(page.step)) {
    if (IN_LINE.has(page.step)) {
      closeCall();
      releaseMedia();
      showError("citizen.lost");
    }
    showStep("reason");
  }
}

// ------------------------------------------------------------ signaling

function onWelcome(message) {
  page.welcome = message;
  useDefault(message.language);
  showNotice(null);
  if (message.serviceName) $("service-name").textContent = message.serviceName;
  titles.name = message.serviceName || null;
  renderTitle();
  $("person-name").textContent = message.person?.name ?? "";
  fillServices();
  onServiceChange();
  const { queue, call, notice } = message.state ?? {};
  // A supervisor's message sent before this page opened is still current for those waiting.
  showBranchNotice(queue ? notice?.text ?? "" : "");
  if (call) {
    page.folio = call.folio;
    callTicket.keep(call.ticket);
    // A reloaded page has a new connection nobody will offer to: it offers
    // itself, and the executive's page starts over when it sees the new peer.
    if (page.step !== "call" || call.contactId !== page.contactId) {
      startCall({ ...call, initiator: true });
    } else {
      // Only the socket came back (the call went on): the server took this page
      // for a new one with its video on, so say again that it is audio only.
      withCall(call.contactId, (current) => {
        if (current.audioOnly) {
          signaling.send("call.audio_only", { contactId: call.contactId, audioOnly: true });
        }
        // Whatever was said of the camera while the socket was down never arrived.
        if (current.cameraOff || current.saidCameraOff) tellCamera(signaling, current, true);
      });
    }
  } else if (queue?.offered) {
    renderQueue(queue);
    showStep("connecting");
    if (!queue.ready) confirmReady(queue.contactId);
  } else if (queue) {
    renderQueue(queue);
    showStep("waiting");
  } else if (!presentTicket()) {
    lostPlace();
  }
}

function onClose({ code, final, retryInMs }) {
  if (code === CLOSE.NOT_AUTHENTICATED) {
    location.assign("/login?next=/citizen");
  } else if (code === CLOSE.FORBIDDEN) {
    // An auditor's login has no live floor: their page is the audit one.
    location.assign("/audit");
  } else if (code === CLOSE.SESSION_ENDED) {
    // Logged out elsewhere or the login ran out: say so, and offer the way back in.
    closeCall();
    releaseMedia();
    showNotice(null);
    showError(null);
    showStep("expired");
  } else if (code === CLOSE.REPLACED) {
    closeCall();
    releaseMedia();
    showNotice(null);
    showStep("replaced");
  } else if (!final) {
    const seconds = Math.max(1, Math.round(retryInMs / 1000));
    showNotice(navigator.onLine ? "connection.retrying" : "connection.offline", { seconds });
  }
}

// Refusals to join that the page words itself from the service's status, in the page's language.
const NOTICE_REFUSALS = new Set(["closed", "no_executives", "queue_full", "wait_too_long", "after_closing"]);

const signaling = new Signaling({ onClose });

signaling
  .on("welcome", onWelcome)
  .on("error", (message) => {
    const service = chosenService();
    if (NOTICE_REFUSALS.has(message.code) && service && message.replyTo === "queue.join") {
      showError(...serviceStatus(service, message.code));
    } else {
      showError(errorKey(message.code));
    }
    if (message.replyTo === "queue.join") $("join").disabled = false;
    if (message.replyTo === "survey.submit") $("survey-send").disabled = false;
    if (message.replyTo === "queue.resume") {
      ticket.drop();
      lostPlace();
    }
    if (message.replyTo === "call.reclaim") {
      callTicket.drop();
      showError(errorKey(message.code, "call"));
    }
  })
  .on("queue.ticket", (message) => ticket.keep(message.ticket))
  .on("queue.reclaim", () => presentTicket() || presentCallTicket())
  .on("queue.joined", (message) => {
    showError(null);
    $("skipped").hidden = true;
    renderQueue(message);
    showStep("waiting");
  })
  .on("queue.position", (message) => {
    renderQueue(message);
    if (page.step !== "waiting") showStep("waiting");
  })
  .on("queue.offered", (message) => {
    page.contactId = message.contactId;
    showStep("connecting");
    if (message.readySeconds) confirmReady(message.contactId);
  })
  .on("queue.skipped", ({ contactId, graceSeconds }) => {
    if (contactId !== page.contactId) return;
    showStep("waiting");
    $("skipped").hidden = false;
    say($("skipped-text"), "citizen.waiting.skipped", { grace: { $minutes: graceSeconds } });
  })
  .on("queue.left", (message) => {
    if (message.contactId !== page.contactId) return;
    ticket.drop();
    page.contactId = null;
    showBranchNotice("");
    markTitle(null);
    releaseMedia();
    showStep("reason");
    renderServiceStatus();
    if (message.reason === "wait_limit") {
      const service = services().find((s) => s.code === page.service);
      const limit = service?.hardMaxWaitSeconds ?? secondsSince(page.joinedAt ?? Date.now() / 1000);
      const name = service ? serviceName(service) : "";
      showError("notice.waitLimit", noticeValues("waitLimit", { service: name, limit }));
    } else if (message.reason === "citizen_left") {
      showError(null);
    } else {
      showError(message.reason === "closed" ? "citizen.left.closed" : "citizen.left.other");
    }
    showNotice(message.reason === "citizen_left" ? "citizen.left.self" : null);
  })
  .on("service.status", onServiceStatus)
  .on("queue.notice", ({ text }) => {
    showBranchNotice(text);
    notify(t("citizen.notify.branchNotice"), text);
  })
  .on("queue.notice_cleared", () => showBranchNotice(null))
  .on("call.started", (fields) => {
    ticket.drop(); // an answered contact gives no place in line any more
    callTicket.keep(fields.ticket);
    showBranchNotice("");
    announceCall(fields);
    startCall(fields);
  })
  .on("signal.description", ({ contactId, description }) =>
    withCall(contactId, (call) => call.handleDescription(description)),
  )
  .on("signal.candidate", ({ contactId, candidate }) =>
    withCall(contactId, (call) => call.handleCandidate(candidate)),
  )
  .on("call.ended", endCall)
  .on("chat.message", (message) => {
    if (message.contactId === page.contactId) chat.add(message);
  })
  .on("call.reconnecting", ({ contactId }) => {
    if (contactId !== page.contactId) return;
    sayIn($("call-status"), "citizen.call.peerLost");
  })
  .on("call.resumed", ({ contactId }) => {
    if (contactId !== page.contactId) return;
    sayIn($("call-status"), "citizen.call.peerBack");
    // The executive's page is new: it must hear again that the video is off on purpose,
    // and it starts with its own camera on until it says otherwise.
    withCall(contactId, (call) => {
      if (call.audioOnly) signaling.send("call.audio_only", { contactId, audioOnly: true });
      if (call.cameraOff) tellCamera(signaling, call, true);
      showPeerCamera(call, false);
    });
    page.peerCamera = null;
  })
  .on("call.camera", ({ contactId, cameraOff }) => {
    // Kept: after a reload it may come before the welcome that starts this page's call.
    page.peerCamera = { contactId, cameraOff };
    withCall(contactId, (call) => showPeerCamera(call, cameraOff));
  })
  .on("survey.saved", ({ contactId }) => {
    if (contactId !== page.surveyFor) return;
    page.surveyFor = null;
    $("survey-form").hidden = true;
    $("survey-thanks").hidden = false;
  });

// ------------------------------------------------------------ wiring

const chat = new ChatBox({
  log: $("chat-log"),
  form: $("chat-form"),
  role: "citizen",
  send: (text) => Boolean(page.contactId) && signaling.send("chat.send", { contactId: page.contactId, text }),
});

$("reason-form").addEventListener("submit", submitReason);
$("service").addEventListener("change", () => {
  showError(null);
  onServiceChange();
});
$("reason-text").addEventListener("input", renderCount);
$("reason").addEventListener("change", () => {
  if ($("reason").value) $("reason-error").hidden = true;
});
$("retry-devices").addEventListener("click", checkDevices);
$("back-to-reason").addEventListener("click", () => {
  releaseMedia();
  showStep("reason");
});
$("join").addEventListener("click", join);
$("leave").addEventListener("click", () => {
  if (page.contactId) signaling.send("queue.leave");
});
$("cancel-offer").addEventListener("click", () => {
  if (page.contactId) signaling.send("queue.leave");
});
$("hangup").addEventListener("click", () => {
  if (page.contactId) signaling.send("call.hangup", { contactId: page.contactId });
});
$("toggle-mic").addEventListener("click", () =>
  withCall(page.contactId, (call) => {
    call.setMicrophone(!call.microphoneOn);
    renderToggles(call);
  }),
);
$("toggle-camera").addEventListener("click", () =>
  withCall(page.contactId, (call) => {
    call.setCamera(!call.cameraOn);
    tellCamera(signaling, call);
    renderToggles(call);
  }),
);
$("toggle-audio-only").addEventListener("click", () =>
  withCall(page.contactId, (call) => setAudioOnly(call, !call.audioOnly)),
);
$("suggest-audio-only").addEventListener("click", () =>
  withCall(page.contactId, (call) => setAudioOnly(call, true)),
);
$("switch-camera").addEventListener("click", () =>
  withCall(page.contactId, async (call) => {
    try {
      await call.switchCamera();
      $("self-video").srcObject = page.stream;
    } catch (error) {
      showError(explainMediaError(error).title);
    }
  }),
);
$("present").addEventListener("click", () => {
  if (page.contactId) confirmReady(page.contactId);
});
$("again").addEventListener("click", () => {
  showError(null);
  showNotice(null);
  $("reason-text").value = "";
  renderCount();
  showStep("reason");
});
$("survey-form").addEventListener("submit", submitSurvey);
$("use-here").addEventListener("click", () => signaling.connect());
window.addEventListener("pagehide", () => signaling.close());
// The device lost its network (not the branch): say it plainly; the connection retries by itself.
window.addEventListener("offline", () => showNotice("connection.offline"));
window.addEventListener("online", () => {
  showNotice(null);
  // Back online: retry now rather than at the end of the back-off, unless still connected.
  if (!signaling.socket) signaling.connect();
});
// Words written from catalog keys follow the switch by themselves; these are built from data.
window.addEventListener("branch:language", () => {
  fillServices();
  renderTitle();
  if (page.service) renderQueue({ service: page.service });
  if (page.step === "reason" || page.step === "devices") renderServiceStatus();
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) signaling.connect();
});

signaling.connect();
