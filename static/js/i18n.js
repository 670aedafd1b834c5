// Every word a page shows comes from the message catalogs in /static/i18n/
// (es-CL, the default, and en). This module picks the language, fills every
// [data-words] element, wires the language switch and formats numbers, dates
// and durations with Intl in that language.
//
// A catalog entry is a template ("Eres el número {position} en la fila") or,
// when it depends on a count, { "one": …, "other": … } chosen by Intl.PluralRules
// on values.count. A value may itself be a formatted value:
//   { $words: key, ...values }   another entry
//   { $minutes: seconds }        "4 min", "1 h 05 min"
//   { $duration: seconds }       "1 minuto", "25 minutes"
//   { $clock: seconds }          "0:07", "1:02:03"
//   { $number: n }               "1.234" / "1,234"
//   { $date: epochSeconds, …Intl.DateTimeFormat options }
//   { $opening: epochSeconds, timeZone }   "mañana a las 08:30"

export const LANGUAGES = Object.freeze(["es-CL", "en"]);
const DEFAULT = "es-CL";
const STORED = "branch.language";

// Only the language in use is loaded (a weak link pays for one catalog); the other comes on switching.
const CATALOGS = {};

async function load(language) {
  if (!CATALOGS[language]) {
    const response = await fetch(`/static/i18n/${language}.json`);
    CATALOGS[language] = response.ok ? await response.json() : {};
  }
  return CATALOGS[language];
}

/** "es-CL" or "en" for any tag ("en-US", "es", "es-AR"); null for other languages. */
export function supported(tag) {
  const lower = String(tag ?? "").toLowerCase();
  if (lower.startsWith("en")) return "en";
  if (lower.startsWith("es")) return "es-CL";
  return null;
}

function stored() {
  try {
    return supported(localStorage.getItem(STORED));
  } catch {
    return null; // storage blocked: the browser's language still decides
  }
}

/**
 * The person's own choice (the switch, remembered), then ?lang=, then the
 * browser's languages in order, then the branch's default (welcome.language).
 */
export function chooseLanguage(fallback = DEFAULT) {
  const asked = supported(new URLSearchParams(window.location.search).get("lang"));
  const browser = (navigator.languages ?? [navigator.language]).map(supported).find(Boolean);
  return stored() ?? asked ?? browser ?? supported(fallback) ?? DEFAULT;
}

let current = chooseLanguage();
await load(current);

/** The page's language now. */
export const language = () => current;

/** Whether `key` is in the catalog of `language`. */
export const hasWords = (key, lang = current) => key in (CATALOGS[lang] ?? {});

function entry(key, lang) {
  const found = (CATALOGS[lang] ?? CATALOGS[current])?.[key];
  if (found === undefined) {
    // Thrown apart, so the page goes on and every browser test sees a page error.
    setTimeout(() => {
      throw new Error(`i18n: no words for "${key}"`);
    });
    return key;
  }
  return found;
}

function formatValue(value, lang) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return new Intl.NumberFormat(lang).format(value);
  if (typeof value !== "object") return String(value);
  if ("$words" in value) return t(value.$words, value, lang);
  if ("$minutes" in value) return formatMinutes(value.$minutes, lang);
  if ("$duration" in value) return formatDuration(value.$duration, lang);
  if ("$clock" in value) return formatClock(value.$clock);
  if ("$number" in value) return new Intl.NumberFormat(lang).format(value.$number);
  if ("$opening" in value) return formatOpening(value.$opening, value.timeZone, lang);
  if ("$date" in value) {
    const { $date, ...options } = value;
    return new Intl.DateTimeFormat(lang, options).format(new Date($date * 1000));
  }
  return String(value);
}

/** The words for `key` in `lang`, with {name} slots filled from `values`. */
export function t(key, values = {}, lang = current) {
  let template = entry(key, lang);
  if (typeof template === "object") {
    const form = new Intl.PluralRules(lang).select(Number(values.count ?? 0));
    template = template[form] ?? template.other;
  }
  return template.replace(/\{(\w+)\}/g, (_, name) => formatValue(values[name], lang));
}

/** Write `key` into `element` and remember it, so a language switch rewrites it. */
export function say(element, key, values) {
  if (!key) {
    delete element.dataset.words;
    delete element.dataset.values;
    if (element.textContent !== "") element.textContent = "";
    return;
  }
  element.dataset.words = key;
  if (values) element.dataset.values = JSON.stringify(values);
  else delete element.dataset.values;
  const text = t(key, values);
  // Re-writing the same words into a live region would have them read again.
  if (element.textContent !== text) element.textContent = text;
}

/** Write words into `element` and show it; no key hides it. */
export function sayIn(element, key, values) {
  say(element, key, values);
  element.hidden = !key;
}

/** Fill every [data-words] (text) and [data-words-attr] ("attr=key;attr=key") under root. */
export function applyWords(root = document) {
  const doc = root.ownerDocument ?? root;
  doc.documentElement.lang = current;
  for (const element of root.querySelectorAll("[data-words]")) {
    const values = element.dataset.values ? JSON.parse(element.dataset.values) : undefined;
    const text = t(element.dataset.words, values);
    if (element.textContent !== text) element.textContent = text;
  }
  for (const element of root.querySelectorAll("[data-words-attr]")) {
    for (const pair of element.dataset.wordsAttr.split(";")) {
      const [name, key] = pair.split("=");
      element.setAttribute(name.trim(), t(key.trim()));
    }
  }
  const title = doc.querySelector("title[data-words]");
  if (title) doc.title = t(title.dataset.words);
  for (const button of root.querySelectorAll("[data-language-switch]")) {
    // Each catalog names the other language in that language.
    button.lang = LANGUAGES.find((lang) => lang !== current);
    button.textContent = t("language.other");
    button.setAttribute("aria-label", t("language.switchTo"));
  }
}

/** Switch the page's language, remember it, and tell the page (event "languagechange" on window). */
export async function setLanguage(lang) {
  const chosen = supported(lang) ?? DEFAULT;
  await load(chosen);
  try {
    localStorage.setItem(STORED, chosen);
  } catch {
    // storage blocked: the switch still works on this page
  }
  current = chosen;
  applyWords(document);
  window.dispatchEvent(new CustomEvent("branch:language", { detail: { language: chosen } }));
}

/** With the branch's default once the server says it (welcome.language), unless the person chose. */
export async function useDefault(fallback) {
  const chosen = chooseLanguage(fallback);
  if (chosen === current) return;
  await load(chosen);
  current = chosen;
  applyWords(document);
  window.dispatchEvent(new CustomEvent("branch:language", { detail: { language: chosen } }));
}

// ------------------------------------------------------------ formats

/** "4 min", "1 h 05 min", or "menos de 1 min". */
export function formatMinutes(seconds, lang = current) {
  const minutes = Math.round(seconds / 60);
  if (minutes < 1) return t("time.lessThanMinute", {}, lang);
  if (minutes < 60) return t("time.minutes", { minutes }, lang);
  const hours = Math.floor(minutes / 60);
  return t("time.hours", { hours, minutes: String(minutes % 60).padStart(2, "0") }, lang);
}

/** "1 minuto", "25 minutos": a limit or a wait said in words. */
export function formatDuration(seconds, lang = current) {
  const count = Math.max(1, Math.round(seconds / 60));
  return t("time.duration", { count }, lang);
}

/** A ticking clock: "0:07", "12:45", "1:02:03". */
export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** "mañana a las 08:30" or "el lunes 30 de noviembre a las 08:30", in the service's time zone. */
export function formatOpening(epochSeconds, timeZone = "America/Santiago", lang = current) {
  const moment = new Date(epochSeconds * 1000);
  const day = (date) => new Intl.DateTimeFormat("en-CA", { timeZone }).format(date);
  const time = new Intl.DateTimeFormat(lang, { timeZone, hour: "2-digit", minute: "2-digit" }).format(
    moment,
  );
  const today = new Date();
  const tomorrow = new Date(today.getTime() + 86_400_000);
  if (day(moment) === day(today)) return t("time.today", { time }, lang);
  if (day(moment) === day(tomorrow)) return t("time.tomorrow", { time }, lang);
  const date = new Intl.DateTimeFormat(lang, {
    timeZone,
    weekday: "long",
    day: "numeric",
    month: "long",
  }).format(moment);
  return t("time.onDay", { date, time }, lang);
}

export const formatNumber = (value, options = {}) =>
  new Intl.NumberFormat(current, options).format(value);

export const formatDate = (epochSeconds, options) =>
  new Intl.DateTimeFormat(current, options).format(new Date(epochSeconds * 1000));

/** Seconds since an epoch-seconds instant, never negative (clocks differ a little). */
export function secondsSince(epochSeconds) {
  return Math.max(0, Date.now() / 1000 - epochSeconds);
}

// ------------------------------------------------------------ the server's errors

// The server's error codes (docs/protocol.md) name a catalog entry "error.<code>", and
// a finer problem one "error.<code>.<problem>"; its own message is detail for logs.
export function errorKey(code, problem) {
  if (problem && hasWords(`error.${code}.${problem}`)) return `error.${code}.${problem}`;
  return hasWords(`error.${code}`) ? `error.${code}` : "error.other";
}

export const errorText = (code) => t(errorKey(code));

/** The notice `key` ("notice.<key>") in `lang` (loaded on first use), its values formatted. */
export async function notice(lang, key, values = {}) {
  const chosen = supported(lang) ?? DEFAULT;
  await load(chosen);
  return t(`notice.${key}`, noticeValues(key, values), chosen);
}

/** The values a notice template takes, from what the server sent. */
export function noticeValues(key, values) {
  const filled = { ...values };
  if (values.opensAt) filled.opening = { $opening: values.opensAt, timeZone: values.timeZone };
  if (values.limit !== undefined) filled.limit = { $duration: values.limit };
  if (values.estimate !== undefined) filled.estimate = { $duration: values.estimate };
  if (values.waiting !== undefined) filled.waiting = { $words: "people", count: values.waiting };
  if (key === "closed" && values.opensAt) filled.opens = { $words: "notice.opens", ...filled };
  return filled;
}

/** Show a notice in an element, marked with its language; empty text hides it. */
export function showNoticeIn(element, lang, text) {
  element.lang = supported(lang) ?? DEFAULT;
  if (element.textContent !== (text ?? "")) element.textContent = text ?? "";
  element.hidden = !text;
}

// Every page imports this module (the landing page only this one): words and switch at once.
applyWords(document);
document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-language-switch]");
  if (button) setLanguage(LANGUAGES.find((lang) => lang !== current));
});
