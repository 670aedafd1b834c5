// The supervisor's wallboard. Everything shown is pushed by the server in
// "wallboard" messages (docs/protocol.md); the page never asks for it. A
// one-second timer only advances the durations shown between two pushes.

import { errorKey, formatClock, formatNumber, hasWords, language, say, sayIn, t, useDefault } from "./i18n.js";
import { CLOSE, Signaling } from "./signaling.js";

const $ = (id) => document.getElementById(id);

// What a supervisor may do to an executive in each state (the server checks again).
const CAN_PAUSE = new Set(["available", "not_ready"]);
const CAN_LOG_OUT = new Set(["available", "not_ready", "offered"]);
// With a citizen the pause waits for the end of the contact: "pause after this call".
const CAN_PAUSE_AFTER = new Set(["in_call", "wrap_up"]);

const view = {
  welcome: null,
  watchOnly: true, // until the welcome says this is a supervisor: admins only watch
  board: null,
  receivedAt: 0, // performance.now() when the board arrived
};

const english = () => language() === "en";

// ------------------------------------------------------------ rendering helpers

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

/** A cell coloured by its level, with the level spelled out for screen readers. */
function cell(text, level = null, attributes = {}) {
  const td = element("td", text ?? "—", attributes);
  if (level) {
    td.dataset.level = level;
    if (level !== "ok") td.append(element("span", ` (${t(`wallboard.${level}`)})`, { class: "visually-hidden" }));
  }
  return td;
}

function elapsed() {
  return Math.max(0, (performance.now() - view.receivedAt) / 1000);
}

function clockOrDash(seconds, running = true) {
  if (seconds === null || seconds === undefined) return "—";
  return formatClock(seconds + (running ? elapsed() : 0));
}

function percent(value) {
  if (value === null || value === undefined) return "—";
  return t("wallboard.percent", { value: formatNumber(value) });
}

function serviceName(line) {
  if (line.code === "") return t("wallboard.total");
  return english() ? line.nameEn || line.name : line.name;
}

function serviceByCode(code) {
  const line = view.board?.services.find((item) => item.code === code);
  return line ? serviceName(line) : code;
}

function pauseLabel(code) {
  if (!code) return "—";
  const entry = (view.welcome?.pauseReasons ?? []).find((item) => item.code === code);
  if (entry) return english() ? entry.labelEn || entry.label : entry.label;
  return hasWords(`wallboard.pause.${code}`) ? t(`wallboard.pause.${code}`) : code;
}

// Each takes a catalog key and its values (none hides the line), so a language switch rewrites it.
const showError = (key, values) => sayIn($("error"), key, values);
const showDone = (key, values) => sayIn($("done"), key, values);
const showConnection = (key, values) => sayIn($("connection"), key, values);

// ------------------------------------------------------------ the board

function renderNow(board) {
  const rows = [...board.services, board.total].map((line) => {
    const tr = element("tr", null, { "data-service": line.code || "total" });
    const by = line.executives;
    tr.append(
      element("th", serviceName(line), { scope: "row" }),
      cell(`${line.waiting}${line.offered ? t("wallboard.offeredNow", { count: line.offered }) : ""}`, null, {
        class: "waiting",
      }),
      cell(clockOrDash(line.longestWaitSeconds), line.longestWaitLevel, { class: "longest" }),
      cell(clockOrDash(line.estimatedWaitSeconds, false), line.estimatedWaitLevel, {
        class: "estimate",
      }),
      cell(by.available, null, { class: "available" }),
      cell(by.not_ready, null, { class: "not-ready" }),
      cell(`${by.offered} · ${by.in_call} · ${by.wrap_up}`, null, { class: "busy" }),
      cell(line.callsInProgress, null, { class: "calls" }),
    );
    if (line.code === "") tr.classList.add("total");
    return tr;
  });
  $("now-rows").replaceChildren(...rows);
}

function renderToday(board) {
  const rows = [...board.services, board.total].map((line) => {
    const today = line.today;
    const tr = element("tr", null, { "data-service": line.code || "total" });
    tr.append(
      element("th", serviceName(line), { scope: "row" }),
      cell(today.offered, null, { class: "offered" }),
      cell(today.answered, null, { class: "answered" }),
      cell(
        `${today.abandoned}${today.shortAbandoned ? t("wallboard.short", { count: today.shortAbandoned }) : ""}`,
        null,
        { class: "abandoned" },
      ),
      cell(percent(today.serviceLevelPercent), today.serviceLevelLevel, { class: "service-level" }),
      cell(clockOrDash(today.asaSeconds, false), today.asaLevel, { class: "asa" }),
      cell(clockOrDash(today.ahtSeconds, false), null, { class: "aht" }),
      cell(percent(today.abandonmentPercent), today.abandonmentLevel, { class: "abandonment" }),
      cell(
        today.satisfaction === null
          ? "—"
          : t("wallboard.satisfactionValue", {
              score: formatNumber(today.satisfaction, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
              surveys: { $words: "wallboard.surveys", count: today.surveyed },
            }),
        today.satisfactionLevel,
        { class: "satisfaction" },
      ),
    );
    if (line.code === "") tr.classList.add("total");
    return tr;
  });
  $("today-rows").replaceChildren(...rows);
  const targets = board.targets;
  $("targets").textContent = t("wallboard.targets", {
    target: targets.serviceLevelTarget,
    seconds: targets.serviceLevelSeconds,
    warn: targets.abandonWarnPercent,
    alert: targets.abandonAlertPercent,
  });
}

function actionButton(label, action, executive, enabled, extra = {}) {
  const button = element("button", label, {
    type: "button",
    "data-action": action,
    "data-run": executive.run,
  });
  button.disabled = !enabled;
  button.addEventListener("click", () => act(action, executive, extra));
  return button;
}

function pauseAfterButton(executive) {
  const pending = Boolean(executive.pauseAfterCall);
  const label = t(pending ? "wallboard.pauseAfterCancel" : "wallboard.pauseAfter");
  const button = actionButton(label, "supervisor.pause_after", executive, CAN_PAUSE_AFTER.has(executive.state), {
    pending: !pending,
  });
  button.setAttribute("aria-pressed", String(pending));
  return button;
}

function pauseCell(executive) {
  if (executive.state === "not_ready") return pauseLabel(executive.reason);
  if (executive.pauseAfterCall && CAN_PAUSE_AFTER.has(executive.state)) return t("wallboard.pauseAfterPending");
  return "—";
}

function renderExecutives(board) {
  const focused = document.activeElement?.dataset ?? {};
  const rows = board.executives.map((executive) => {
    const tr = element("tr", null, { "data-run": executive.run });
    tr.dataset.state = executive.state;
    const actions = element("td", null, { class: "actions-cell" });
    actions.append(
      actionButton(t("wallboard.setNotReady"), "supervisor.not_ready", executive, CAN_PAUSE.has(executive.state)),
      pauseAfterButton(executive),
      actionButton(t("wallboard.logOut"), "supervisor.log_out", executive, CAN_LOG_OUT.has(executive.state)),
    );
    tr.append(
      element("th", executive.name, { scope: "row" }),
      cell(hasWords(`wallboard.state.${executive.state}`) ? t(`wallboard.state.${executive.state}`) : executive.state, null, { class: "state" }),
      cell(clockOrDash(executive.secondsInState), null, { class: "in-state" }),
      cell(pauseCell(executive), null, { class: "pause" }),
      cell(executive.services.map(serviceByCode).join(", "), null, { class: "services" }),
    );
    if (!view.watchOnly) tr.append(actions);
    return tr;
  });
  $("executive-rows").replaceChildren(...rows);
  $("executives-empty").hidden = rows.length > 0;
  $("executives-table").parentElement.hidden = rows.length === 0;
  // A push must not pull the keyboard focus away from the button being used.
  if (focused.action && focused.run) {
    document
      .querySelector(`button[data-action="${focused.action}"][data-run="${CSS.escape(focused.run)}"]`)
      ?.focus();
  }
}

function renderCalls(board) {
  const rows = board.calls.map((call) => {
    const tr = element("tr", null, { "data-contact": call.contactId });
    const duration = clockOrDash(call.durationSeconds);
    tr.append(
      element("th", call.folio, { scope: "row" }),
      cell(serviceByCode(call.service), null, { class: "service" }),
      cell(call.executive.name, null, { class: "executive" }),
      cell(call.interrupted ? `${duration} (${t("wallboard.interrupted")})` : duration, null, {
        class: "duration",
      }),
    );
    return tr;
  });
  $("call-rows").replaceChildren(...rows);
  $("calls-empty").hidden = rows.length > 0;
  $("calls-table").parentElement.hidden = rows.length === 0;
}

function renderNoticeServices(board) {
  const select = $("notice-service");
  const chosen = select.value;
  const options = board.services.map((line) => element("option", serviceName(line), { value: line.code }));
  select.replaceChildren(...options);
  if (chosen && board.services.some((line) => line.code === chosen)) select.value = chosen;
}

function clockTime(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleTimeString(language(), { hour: "numeric", minute: "2-digit" });
}

/** The message each service's waiting citizens are being shown, as the server keeps it. */
function renderNotices(board) {
  const items = board.services
    .filter((line) => line.notice)
    .map((line) => {
      const item = element("li", null, { "data-service": line.code });
      item.append(
        element("strong", serviceName(line), { class: "service" }),
        " ",
        // The supervisor's own words, shown as written.
        element("q", line.notice.text, { class: "text" }),
        " ",
        element(
          "span",
          t("wallboard.noticeTimes", { sent: clockTime(line.notice.at), until: clockTime(line.notice.until) }),
          { class: "hint times" },
        ),
      );
      return item;
    });
  $("notices").replaceChildren(...items);
  $("notices").hidden = items.length === 0;
  $("notices-empty").hidden = items.length > 0;
}

function render() {
  const board = view.board;
  if (!board) return;
  renderNow(board);
  renderToday(board);
  renderExecutives(board);
  renderCalls(board);
  renderNotices(board);
  renderNoticeServices(board);
  const at = new Date(board.at * 1000).toLocaleTimeString(language());
  $("updated").textContent = t("wallboard.updated", { time: at });
}

/** Only the running durations, between pushes. */
function tick() {
  const board = view.board;
  if (!board) return;
  for (const line of [...board.services, board.total]) {
    const td = document.querySelector(`#now-rows tr[data-service="${line.code || "total"}"] .longest`);
    if (td && line.longestWaitSeconds !== null) td.firstChild.textContent = clockOrDash(line.longestWaitSeconds);
  }
  for (const executive of board.executives) {
    const td = document.querySelector(`#executive-rows tr[data-run="${CSS.escape(executive.run)}"] .in-state`);
    if (td) td.textContent = clockOrDash(executive.secondsInState);
  }
  for (const call of board.calls) {
    const td = document.querySelector(`#call-rows tr[data-contact="${CSS.escape(call.contactId)}"] .duration`);
    if (td && !call.interrupted) td.textContent = clockOrDash(call.durationSeconds);
  }
}

// ------------------------------------------------------------ language

/** What the script writes, in the page's language now (the switch rewrites the rest). */
function applyLanguage() {
  const service = view.welcome?.serviceName;
  document.title = service ? t("wallboard.pageTitleFor", { service }) : t("wallboard.pageTitle");
  fillPauseReasons();
  render();
}

function fillPauseReasons() {
  const select = $("pause-reason");
  const chosen = select.value;
  const options = [element("option", t("wallboard.pauseDefault"), { value: "" })];
  for (const entry of view.welcome?.pauseReasons ?? []) {
    options.push(element("option", english() ? entry.labelEn || entry.label : entry.label, { value: entry.code }));
  }
  select.replaceChildren(...options);
  select.value = chosen;
}

// ------------------------------------------------------------ actions

function act(action, executive, extra) {
  showError(null);
  showDone(null);
  const fields = { executive: executive.run, ...extra };
  const pausing = action === "supervisor.not_ready" || (action === "supervisor.pause_after" && extra.pending);
  if (pausing && $("pause-reason").value) fields.reason = $("pause-reason").value;
  signaling.send(action, fields);
}

$("notice-form").addEventListener("submit", (event) => {
  event.preventDefault();
  showError(null);
  showDone(null);
  const text = $("notice-text").value.trim();
  if (!text) {
    $("notice-text").focus();
    return;
  }
  if (signaling.send("supervisor.broadcast", { service: $("notice-service").value, text })) {
    $("notice-send").disabled = true;
  }
});

$("notice-clear").addEventListener("click", () => {
  showError(null);
  showDone(null);
  if (signaling.send("supervisor.clear_notice", { service: $("notice-service").value })) {
    $("notice-clear").disabled = true;
  }
});

// ------------------------------------------------------------ signaling

function nameOf(run) {
  return view.board?.executives.find((executive) => executive.run === run)?.name ?? run;
}

function onClose({ code, final, retryInMs }) {
  if (code === CLOSE.NOT_AUTHENTICATED) {
    location.assign("/login?next=/supervisor");
    return;
  }
  if (code === CLOSE.SESSION_ENDED) {
    location.assign("/");
    return;
  }
  if (code === CLOSE.REPLACED) showConnection("wallboard.replaced");
  else if (!final) showConnection("wallboard.lost", { seconds: Math.max(1, Math.round(retryInMs / 1000)) });
}

const signaling = new Signaling({ onClose });

signaling
  .on("welcome", (message) => {
    view.welcome = message;
    view.watchOnly = message.role !== "supervisor";
    // Admins see the current messages, not the form that sends them.
    for (const id of ["actions-head", "pause-choice", "notice-form"]) $(id).hidden = view.watchOnly;
    showConnection(null);
    if (message.serviceName) {
      delete $("service-name").dataset.words; // the branch's own name, not a catalog word
      $("service-name").textContent = message.serviceName;
    }
    $("person-name").textContent = message.person?.name ?? "";
    applyLanguage();
    // The branch's default language, unless the person chose one (the switch or ?lang=).
    useDefault(message.language);
  })
  .on("wallboard", (message) => {
    view.board = message;
    view.receivedAt = performance.now();
    render();
  })
  .on("supervisor.done", (message) => {
    if (message.action === "supervisor.broadcast") {
      $("notice-send").disabled = false;
      $("notice-text").value = "";
      showDone("wallboard.doneBroadcast", { count: message.recipients });
    } else if (message.action === "supervisor.clear_notice") {
      $("notice-clear").disabled = false;
      showDone(message.cleared ? "wallboard.doneClearNotice" : "wallboard.doneNoNotice", { count: message.recipients });
    } else if (message.action === "supervisor.pause_after") {
      showDone(message.pending ? "wallboard.donePauseAfter" : "wallboard.donePauseAfterCancel", {
        name: nameOf(message.executive),
      });
    } else if (message.action === "supervisor.log_out") {
      showDone("wallboard.doneLogOut", { name: nameOf(message.executive) });
    } else {
      showDone("wallboard.doneNotReady", { name: nameOf(message.executive) });
    }
  })
  .on("error", (message) => {
    if (message.replyTo === "supervisor.broadcast") $("notice-send").disabled = false;
    if (message.replyTo === "supervisor.clear_notice") $("notice-clear").disabled = false;
    showError(errorKey(message.code));
  });

window.addEventListener("branch:language", applyLanguage);
showConnection("wallboard.connecting");
applyLanguage();
signaling.connect();
// Rendering only: the numbers come from the server; this moves the clocks on.
setInterval(tick, 1000);
