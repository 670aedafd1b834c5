// The citizen's page: reason → device check → queue → call → thanks.
// One step is visible at a time; the server's state (welcome.state) decides
// where a reloaded or reconnected page resumes.

import { Call, LevelMeter, explainMediaError, openLocalMedia, stopStream } from "./call.js";
import {
  errorText,
  formatClock,
  formatEstimate,
  formatMinutes,
  formatPosition,
  formatWaiting,
  notice,
  pageLanguage,
  secondsSince,
  showNoticeIn,
} from "./i18n.js";
import { askToNotify, chime, notify } from "./alert.js";
import { ChatBox } from "./chat.js";
import { CLOSE, Signaling } from "./signaling.js";
import {
  playRemote,
  renderMediaToggles,
  showVerificationCode,
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
  label.lang = language();
  label.textContent = notice(language(), "branchNotice");
  line.append(label, text);
  region.replaceChildren(line);
}

const STEPS = ["loading", "reason", "devices", "waiting", "connecting", "call", "ended", "replaced"];
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

function showError(text) {
  const box = $("error");
  box.lang = "es-CL";
  box.textContent = text ?? "";
  box.hidden = !text;
}

function showNotice(text) {
  const box = $("connection");
  box.textContent = text ?? "";
  box.hidden = !text;
}

// ------------------------------------------------------------ step 1: service and reason

const services = () => page.welcome?.services ?? [];
const chosenService = () => services().find((s) => s.code === $("service").value) ?? services()[0];

const language = () => pageLanguage(page.welcome?.language);
const serviceName = (service) => (language() === "en" && service.nameEn) || service.name;

function fillServices() {
  const select = $("service");
  const chosen = select.value;
  const label = (s) => (s.open ? s.name : `${s.name} (cerrado)`);
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
  const status = service ? serviceStatus(service) : "";
  showNoticeIn($("service-status"), language(), status);
  showNoticeIn($("join-status"), language(), status);
}

/** What a citizen should know before joining: closed, nobody attending, full, too long a wait. */
function serviceStatus(service) {
  const values = {
    service: serviceName(service),
    opensAt: service.opensAt,
    timeZone: service.timezone,
    waiting: service.waiting,
    estimate: service.estimatedWaitSeconds ?? 0,
  };
  if (!service.open) return notice(language(), "closed", values);
  if (service.refusal) return notice(language(), service.refusal, values);
  if (service.staffed === 0) return notice(language(), "unstaffed", values);
  return "";
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
  select.replaceChildren(new Option("Elige un motivo", ""));
  for (const reason of reasons) select.append(new Option(reason.label, reason.code));
  select.value = reasons.some((r) => r.code === chosen) ? chosen : "";
  const text = $("reason-text");
  text.maxLength = limit;
  renderCount();
}

function renderCount() {
  const text = $("reason-text");
  $("reason-count").textContent = `${text.value.length} de ${text.maxLength} caracteres`;
}

function submitReason(event) {
  event.preventDefault();
  const service = chosenService();
  if (service && !service.open) {
    showError(serviceStatus(service));
    return;
  }
  const missing = !$("reason").value;
  $("reason-error").hidden = !missing;
  $("reason").setAttribute("aria-invalid", String(missing));
  if (missing) {
    $("reason").focus();
    return;
  }
  showError("");
  showStep("devices");
  checkDevices();
}

// ------------------------------------------------------------ step 2: device check

async function checkDevices() {
  $("join").disabled = true;
  $("retry-devices").hidden = true;
  $("device-problem").hidden = true;
  $("device-status").textContent = "Pidiendo permiso para usar la cámara y el micrófono…";
  try {
    await ensureMedia({ fresh: true });
  } catch (error) {
    const { title, text } = explainMediaError(error);
    $("device-problem-title").textContent = title;
    $("device-problem-text").textContent = text;
    $("device-problem").hidden = false;
    $("device-status").textContent = "";
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
  $("device-status").textContent = page.videoMissing
    ? "No encontramos una cámara. Puedes continuar solo con micrófono: el ejecutivo te " +
      "escuchará, pero no te verá. Si tienes una cámara, conéctala y toca «Probar de nuevo»."
    : "Tu cámara y micrófono funcionan.";
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
    showError("No hay conexión con la sucursal. Espera un momento e inténtalo de nuevo.");
  }
}

// ------------------------------------------------------------ step 3: waiting

function renderQueue(fields) {
  const { contactId, folio, position, waiting, estimatedWaitSeconds, joinedAt, service, staffed } =
    fields;
  if (service) {
    page.service = service;
    const known = services().find((s) => s.code === service);
    setText("waiting-service", known?.name ?? service);
    const limit = known?.hardMaxWaitSeconds;
    showNoticeIn($("waiting-limit"), language(), limit ? notice(language(), "waitLimitAhead", { limit }) : "");
  }
  if (typeof staffed === "number") $("waiting-staffing").hidden = staffed > 0;
  if (contactId) page.contactId = contactId;
  if (folio) page.folio = folio;
  if (joinedAt) page.joinedAt = joinedAt;
  if (typeof position === "number") {
    setText("position", formatPosition(position));
    announceTurn(position);
  }
  if (typeof waiting === "number") setText("waiting-count", formatWaiting(waiting));
  if (estimatedWaitSeconds !== undefined) setText("estimate", formatEstimate(estimatedWaitSeconds));
  setText("waiting-folio", page.folio ?? "—");
}

let pageTitle = document.title; // the service's name once the welcome arrives

/** Once per contact, when the citizen becomes next: chime, title and notification. */
function announceTurn(position) {
  const next = position === 1;
  document.title = next ? `⏰ Eres el siguiente · ${pageTitle}` : pageTitle;
  if (!next || page.announcedNext === page.contactId) return;
  page.announcedNext = page.contactId;
  chime();
  notify("Eres el siguiente", "Mantén la página abierta: te conectaremos en un momento.");
}

// Re-writing the same words into the live region would make screen readers
// announce them again on every position update.
function setText(id, text) {
  const element = $(id);
  if (element.textContent !== text) element.textContent = text;
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
  document.title = `📞 En atención · ${pageTitle}`;
  chime();
  notify("Tu atención comenzó", `Te atiende ${fields.peer?.name || "un ejecutivo"}.`);
}

function startCall(fields) {
  if (fields.contactId !== page.chatFor) {
    chat.load(fields.chat);
    page.chatFor = fields.contactId;
  }
  page.contactId = fields.contactId;
  page.folio = fields.folio ?? page.folio;
  $("peer-name").textContent = fields.peer?.name || "un ejecutivo";
  $("call-status").textContent = "Conectando…";
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

const QUALITY_TEXTS = { good: "buena", fair: "regular", poor: "débil" };

/** Every few seconds: show the link quality; after two poor samples, suggest audio only. */
function watchQuality(call) {
  clearInterval(page.qualityTimer);
  let poorInARow = 0;
  page.qualityTimer = setInterval(async () => {
    if (call.closed) return clearInterval(page.qualityTimer);
    if (call.pc.connectionState !== "connected") return;
    const quality = await call.sampleQuality();
    $("call-quality").textContent = QUALITY_TEXTS[quality];
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
    showError("");
    // The executive's page says why the video stopped (or came back).
    signaling.send("call.audio_only", { contactId: call.contactId, audioOnly: call.audioOnly });
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
  const texts = {
    new: "Conectando…",
    connecting: "Conectando…",
    disconnected: "La conexión está inestable; intentando recuperarla…",
    failed: "No pudimos establecer la conexión de video. Cuelga e inténtalo de nuevo.",
  };
  $("call-status").textContent = texts[state] ?? "";
  $("call-status").hidden = !texts[state];
}

function renderToggles(call) {
  renderMediaToggles(call);
  $("toggle-audio-only").textContent = call.audioOnly ? "Volver al video" : "Solo audio";
  $("toggle-audio-only").setAttribute("aria-pressed", String(call.audioOnly));
}

function withCall(contactId, action) {
  withCurrentCall(page.callPromise, contactId, action);
}

function closeCall() {
  clearInterval(page.qualityTimer);
  $("verify-code").textContent = "—";
  $("quality-hint").hidden = true;
  $("call-quality").textContent = "—";
  const previous = page.callPromise;
  page.callPromise = null;
  previous?.then((call) => call.close());
  window.branchCall = null;
  $("remote-video").srcObject = null;
  $("self-video").srcObject = null;
}

const LEFT_TEXTS = {
  citizen_left: "",
  closed: "El servicio cerró antes de que alcanzáramos a atenderte. Disculpa las molestias.",
};

const ENDED_TEXTS = {
  citizen: "Terminaste la llamada.",
  executive: "El ejecutivo terminó la llamada.",
  system: "La llamada se cortó.",
};

function endCall({ contactId, reason, by, receipt }) {
  if (contactId !== page.contactId) return;
  ticket.drop(); // a transfer's new contact brings its own
  closeCall();
  if (reason === "transferred") {
    // The new contact's queue.joined follows; the camera stays on for the next executive.
    page.contactId = null;
    showNotice("Te transferimos a otro servicio. Mantienes tu prioridad en la fila.");
    showStep("waiting");
    return;
  }
  releaseMedia();
  const dropped = reason === "executive_dropped" ? " Perdimos la conexión con el ejecutivo." : "";
  $("ended-text").textContent = (ENDED_TEXTS[by] ?? "Tu atención terminó.") + dropped;
  $("ended-folio").textContent = receipt?.folio ?? page.folio ?? "—";
  renderReceipt(receipt);
  page.surveyFor = receipt?.answeredAt ? contactId : null;
  $("survey-form").reset();
  $("survey-form").hidden = !page.surveyFor;
  $("survey-send").disabled = false;
  $("survey-error").hidden = true;
  $("survey-thanks").hidden = true;
  page.contactId = null;
  document.title = pageTitle;
  showStep("ended");
}

const DATE_FORMAT = new Intl.DateTimeFormat("es-CL", { dateStyle: "long", timeStyle: "short" });

function renderReceipt(receipt) {
  $("receipt").hidden = !receipt;
  if (!receipt) return;
  $("receipt-service").textContent = receipt.service;
  $("receipt-reason").textContent = receipt.reason;
  $("receipt-executive").textContent = receipt.executive ?? "—";
  const { joinedAt, answeredAt, endedAt } = receipt;
  $("receipt-waited").textContent = answeredAt ? formatMinutes(answeredAt - joinedAt) : "—";
  $("receipt-talked").textContent = answeredAt ? formatClock(endedAt - answeredAt) : "—";
  $("receipt-date").textContent = DATE_FORMAT.format(new Date(joinedAt * 1000));
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

// ------------------------------------------------------------ queue ticket

// The page's signed proof of its place, presented if the server lost its lines
// (docs/protocol.md, "Queue tickets"). Per tab, gone with it.
const TICKET_KEY = "branch.queueTicket";
const ticket = {
  keep(value) {
    try {
      sessionStorage.setItem(TICKET_KEY, value);
    } catch {
      // Storage turned off: the place is then only as safe as the server's state.
    }
  },
  held() {
    try {
      return sessionStorage.getItem(TICKET_KEY);
    } catch {
      return null;
    }
  },
  drop() {
    try {
      sessionStorage.removeItem(TICKET_KEY);
    } catch {
      // Nothing was kept.
    }
  },
};

function presentTicket() {
  const held = ticket.held();
  return Boolean(held) && signaling.send("queue.resume", { ticket: held });
}

function lostPlace() {
  if (page.step === "loading" || page.step === "replaced" || IN_LINE.has(page.step)) {
    if (IN_LINE.has(page.step)) {
      closeCall();
      releaseMedia();
      showError("Perdimos la conexión y tu atención terminó. Puedes volver a ponerte en la fila.");
    }
    showStep("reason");
  }
}

// ------------------------------------------------------------ signaling

function onWelcome(message) {
  page.welcome = message;
  showNotice("");
  $("service-name").textContent = message.serviceName || "Sucursal en Línea";
  pageTitle = message.serviceName || "Sucursal en Línea";
  if (!IN_LINE.has(page.step)) document.title = pageTitle;
  $("person-name").textContent = message.person?.name ?? "";
  fillServices();
  onServiceChange();
  const { queue, call } = message.state ?? {};
  if (call) {
    page.folio = call.folio;
    // A reloaded page has a new connection nobody will offer to: it offers
    // itself, and the executive's page starts over when it sees the new peer.
    if (page.step !== "call" || call.contactId !== page.contactId) {
      startCall({ ...call, initiator: true });
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
    location.assign("/");
  } else if (code === CLOSE.REPLACED) {
    closeCall();
    releaseMedia();
    showNotice("");
    showStep("replaced");
  } else if (!final) {
    const seconds = Math.max(1, Math.round(retryInMs / 1000));
    showNotice(`Se perdió la conexión con la sucursal. Reintentando en ${seconds} s…`);
  }
}

const signaling = new Signaling({ onClose });

signaling
  .on("welcome", onWelcome)
  .on("error", (message) => {
    showError(errorText(message.code, message.message));
    if (message.replyTo === "queue.join") $("join").disabled = false;
    if (message.replyTo === "survey.submit") $("survey-send").disabled = false;
    if (message.replyTo === "queue.resume") {
      ticket.drop();
      lostPlace();
    }
  })
  .on("queue.ticket", (message) => ticket.keep(message.ticket))
  .on("queue.reclaim", presentTicket)
  .on("queue.joined", (message) => {
    showError("");
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
    $("skipped-text").textContent =
      "Era tu turno, pero no pudimos confirmar que tu cámara y micrófono estuvieran listos. " +
      `Guardamos tu lugar por ${formatMinutes(graceSeconds)}: toca «Estoy aquí» para seguir.`;
  })
  .on("queue.left", (message) => {
    if (message.contactId !== page.contactId) return;
    ticket.drop();
    page.contactId = null;
    showBranchNotice("");
    document.title = pageTitle;
    releaseMedia();
    showStep("reason");
    renderServiceStatus();
    if (message.reason === "wait_limit") {
      const service = services().find((s) => s.code === page.service);
      const limit = service?.hardMaxWaitSeconds ?? secondsSince(page.joinedAt ?? Date.now() / 1000);
      const name = service ? serviceName(service) : "";
      showNoticeIn($("error"), language(), notice(language(), "waitLimit", { service: name, limit }));
    } else {
      showError(LEFT_TEXTS[message.reason] ?? "Tu atención terminó antes de comenzar.");
    }
    showNotice(message.reason === "citizen_left" ? "Saliste de la fila." : "");
  })
  .on("service.status", onServiceStatus)
  .on("queue.notice", ({ text }) => {
    showBranchNotice(text);
    notify(notice(language(), "branchNotice").replace(/:\s*$/, ""), text);
  })
  .on("call.started", (fields) => {
    ticket.drop(); // an answered contact gives no place in line any more
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
    $("call-status").textContent =
      "El ejecutivo perdió la conexión. Espera un momento: la llamada sigue y se recuperará.";
    $("call-status").hidden = false;
  })
  .on("call.resumed", ({ contactId }) => {
    if (contactId !== page.contactId) return;
    $("call-status").textContent = "El ejecutivo volvió. Reconectando…";
    $("call-status").hidden = false;
    // The executive's page is new: it must hear again that the video is off on purpose.
    withCall(contactId, (call) => {
      if (call.audioOnly) signaling.send("call.audio_only", { contactId, audioOnly: true });
    });
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
  showError("");
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
  showError("");
  showNotice("");
  $("reason-text").value = "";
  renderCount();
  showStep("reason");
});
$("survey-form").addEventListener("submit", submitSurvey);
$("use-here").addEventListener("click", () => signaling.connect());
window.addEventListener("pagehide", () => signaling.close());
window.addEventListener("pageshow", (event) => {
  if (event.persisted) signaling.connect();
});

signaling.connect();
