// Spanish (Chile) wording that depends on numbers, kept in one place so both
// pages say a wait or a place in line the same way.

/** "4 min", "1 h 05 min", or "menos de 1 min". */
export function formatMinutes(seconds) {
  const minutes = Math.round(seconds / 60);
  if (minutes < 1) return "menos de 1 min";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** A ticking clock: "0:07", "12:45", "1:02:03". */
export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function formatPosition(position) {
  return position === 1 ? "Eres el siguiente en la fila" : `Eres el número ${position} en la fila`;
}

export function formatWaiting(count) {
  return count === 1 ? "1 persona" : `${count} personas`;
}

export function formatEstimate(seconds) {
  if (seconds === null || seconds === undefined) return "Aún no tenemos una estimación";
  return `Tiempo estimado: ${formatMinutes(seconds)}`;
}

/** "mañana a las 08:30" or "el lunes 30 de noviembre a las 08:30", in the service's time zone. */
export function formatOpening(epochSeconds, timeZone = "America/Santiago") {
  const moment = new Date(epochSeconds * 1000);
  const day = (date) => new Intl.DateTimeFormat("en-CA", { timeZone }).format(date);
  const time = new Intl.DateTimeFormat("es-CL", { timeZone, hour: "2-digit", minute: "2-digit" });
  const at = `a las ${time.format(moment)}`;
  const today = new Date();
  const tomorrow = new Date(today.getTime() + 86_400_000);
  if (day(moment) === day(today)) return `hoy ${at}`;
  if (day(moment) === day(tomorrow)) return `mañana ${at}`;
  const date = new Intl.DateTimeFormat("es-CL", {
    timeZone,
    weekday: "long",
    day: "numeric",
    month: "long",
  });
  return `el ${date.format(moment)} ${at}`;
}

/** Seconds since an epoch-seconds instant, never negative (clocks differ a little). */
export function secondsSince(epochSeconds) {
  return Math.max(0, Date.now() / 1000 - epochSeconds);
}

// The server's error codes (docs/protocol.md); its own message is English
// detail meant for logs, so people get these instead.
const ERROR_TEXTS = {
  bad_message: "La solicitud no es válida. Recarga la página e inténtalo de nuevo.",
  unknown_type: "La página está desactualizada. Recárgala, por favor.",
  forbidden: "No tienes permiso para esa acción.",
  already_queued: "Ya estás en la fila o en una atención.",
  not_queued: "Ya no estás en la fila.",
  no_offer: "Esa atención ya no está disponible.",
  not_in_call: "La llamada ya terminó.",
  not_your_contact: "Esa atención no es tuya.",
  invalid_state: "Esa acción no corresponde en este momento.",
  unknown_reason: "El motivo elegido no es válido. Elige otro.",
  unknown_outcome: "El resultado elegido no es válido. Elige otro.",
  too_large: "El mensaje es demasiado largo.",
  internal: "Tuvimos un problema. Inténtalo de nuevo en un momento.",
  unavailable: "El servicio no está disponible en este momento.",
  unknown_service: "El servicio elegido no existe. Recarga la página.",
  unknown_executive: "Esa persona ya no está conectada.",
};

// Refusals to join: the server's message is written for people and carries
// the specifics (opening time, prediction), so it is shown as it comes.
const SERVER_WORDED = new Set([
  "closed",
  "no_executives",
  "queue_full",
  "wait_too_long",
  "after_closing",
]);

export function errorText(code, fallback) {
  if (SERVER_WORDED.has(code) && fallback) return fallback;
  return ERROR_TEXTS[code] ?? fallback ?? "Ocurrió un error. Inténtalo de nuevo.";
}

// Pages speak Spanish (Chile) unless opened with ?lang=en or the branch's
// default language (the `language` setting) is English.
export function pageLanguage(fallback = "es-CL") {
  const asked = new URLSearchParams(window.location.search).get("lang") || fallback;
  return asked.startsWith("en") ? "en" : "es-CL";
}

/** Put a page's words in its language: every [data-words=key] gets words[key]. */
export function applyWords(root, words, language) {
  root.documentElement.lang = language;
  for (const element of root.querySelectorAll("[data-words]")) {
    const text = words[element.dataset.words];
    if (text !== undefined) element.textContent = text;
  }
}

// Notices written in both languages; pageLanguage(welcome.language) picks one, and
// the element showing it gets that `lang` so it is read aloud right.
const minutesEn = (seconds) => {
  const minutes = Math.max(1, Math.round(seconds / 60));
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
};
const minutesEs = (seconds) => {
  const minutes = Math.max(1, Math.round(seconds / 60));
  return minutes === 1 ? "1 minuto" : `${minutes} minutos`;
};

const openingEn = (epochSeconds, timeZone = "America/Santiago") =>
  new Intl.DateTimeFormat("en-GB", {
    timeZone,
    weekday: "long",
    day: "numeric",
    month: "long",
    hour: "2-digit",
    minute: "2-digit",
  }).format(new Date(epochSeconds * 1000));

export const NOTICES = Object.freeze({
  "es-CL": {
    closed: ({ service, opensAt, timeZone }) =>
      `${service} está cerrado en este momento.` +
      (opensAt ? ` Abre ${formatOpening(opensAt, timeZone)}.` : ""),
    no_executives: ({ service }) =>
      `En este momento no hay ejecutivos atendiendo ${service}. Intenta en unos minutos.`,
    unstaffed: () =>
      "En este momento no hay ejecutivos conectados; puedes esperar tu turno en la fila.",
    queue_full: ({ service, waiting }) =>
      `La fila de ${service} está llena en este momento (${formatWaiting(waiting)} esperando). ` +
      "Intenta de nuevo en unos minutos.",
    wait_too_long: ({ service, estimate }) =>
      `La espera estimada para ${service} es de unos ${minutesEs(estimate)}, más de lo que ` +
      "permitimos esperar. Intenta de nuevo más tarde.",
    after_closing: ({ service }) =>
      `Con las personas que ya esperan, no alcanzaríamos a atenderte en ${service} antes del cierre.`,
    waitLimitAhead: ({ limit }) =>
      `La espera máxima en este servicio es de ${minutesEs(limit)}: si se cumple antes de tu turno, te avisaremos aquí.`,
    waitLimit: ({ service, limit }) =>
      `Esperaste ${minutesEs(limit)}, el máximo de espera de ${service}, y tu atención terminó. ` +
      "Disculpa las molestias: puedes volver a ponerte en la fila o intentarlo más tarde.",
    peerAudioOnly: () =>
      "La persona cambió a solo audio para ahorrar datos: por eso no ves su video. Se siguen escuchando.",
    peerVideoBack: () => "La persona volvió a activar su video.",
    branchNotice: () => "Aviso de la sucursal: ",
  },
  en: {
    closed: ({ service, opensAt, timeZone }) =>
      `${service} is closed right now.` +
      (opensAt ? ` It opens on ${openingEn(opensAt, timeZone)}.` : ""),
    no_executives: ({ service }) =>
      `Nobody is serving ${service} right now. Please try again in a few minutes.`,
    unstaffed: () => "No executive is connected right now; you may wait for your turn in line.",
    queue_full: ({ service, waiting }) =>
      `The line for ${service} is full right now (${waiting === 1 ? "1 person" : `${waiting} people`} waiting). ` +
      "Please try again in a few minutes.",
    wait_too_long: ({ service, estimate }) =>
      `The estimated wait for ${service} is about ${minutesEn(estimate)}, longer than we let ` +
      "people wait. Please try again later.",
    after_closing: ({ service }) =>
      `With the people already waiting, we could not serve you at ${service} before closing time.`,
    waitLimitAhead: ({ limit }) =>
      `The longest wait in this service is ${minutesEn(limit)}: if it runs out before your turn, we will tell you here.`,
    waitLimit: ({ service, limit }) =>
      `You waited ${minutesEn(limit)}, the longest wait for ${service}, so this contact ended. ` +
      "We are sorry: you can join the line again or try later.",
    peerAudioOnly: () =>
      "The citizen switched to audio only to save data: that is why their video stopped. You can still hear each other.",
    peerVideoBack: () => "The citizen turned their video back on.",
    branchNotice: () => "Notice from the branch: ",
  },
});

/** The notice `key` in `language` (es-CL when unknown), with its values filled in. */
export function notice(language, key, values = {}) {
  const catalog = NOTICES[language] ?? NOTICES["es-CL"];
  return catalog[key](values);
}

/** Show a notice in an element, marked with its language; empty text hides it. */
export function showNoticeIn(element, language, text) {
  element.lang = NOTICES[language] ? language : "es-CL";
  if (element.textContent !== (text ?? "")) element.textContent = text ?? "";
  element.hidden = !text;
}
