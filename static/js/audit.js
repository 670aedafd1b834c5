// The auditors' page: read-only views of the records, the audit trail and its
// verification, all from /api/audit/* (every read there is itself audited).
import { applyWords, errorText, pageLanguage } from "./i18n.js";

const WORDS = {
  "es-CL": {
    skip: "Saltar al contenido",
    title: "Auditoría",
    logout: "Cerrar sesión",
    readOnly: "Solo lectura. Cada consulta de registros queda anotada en el registro de auditoría.",
    verifyTitle: "Verificación de la cadena",
    headLabel: "Cabeza registrada (opcional)",
    verify: "Verificar",
    contactsTitle: "Atenciones",
    from: "Desde",
    to: "Hasta",
    show: "Ver atenciones",
    folio: "Folio",
    joined: "Ingreso",
    service: "Servicio",
    reason: "Motivo",
    citizen: "Ciudadano",
    executive: "Ejecutivo",
    outcome: "Resultado",
    detail: "Detalle",
    open: "Ver",
    contactTitle: "Atención",
    chatTitle: "Conversación escrita",
    storyTitle: "Registro de auditoría de la atención",
    trailTitle: "Registro de auditoría",
    seq: "N.º",
    at: "Fecha",
    kind: "Evento",
    actor: "Quién",
    contactId: "Atención",
    hash: "Hash",
    more: "Ver más",
    erased: "(borrado por retención)",
    noChat: "Sin conversación guardada.",
    language: "English",
    languageHref: "?lang=en",
    verifies: (n, erased, head) =>
      `La cadena verifica: ${n} entradas` +
      (erased ? `, ${erased} con datos personales borrados por retención` : "") +
      (head ? `. Cabeza: ${head.seq}:${head.hash}` : "."),
    broken: (seq, reason) => `La cadena está rota en la entrada ${seq}: ${reason}`,
    contactsFound: (n, from, to, cut) =>
      `${n === 1 ? "1 atención" : `${n} atenciones`} entre el ${from} y el ${to}` +
      `${cut ? " (se muestran las primeras)" : ""}.`,
  },
  en: {
    skip: "Skip to content",
    title: "Audit",
    logout: "Log out",
    readOnly: "Read only. Every look at the records is itself written to the audit trail.",
    verifyTitle: "Chain verification",
    headLabel: "Recorded head (optional)",
    verify: "Verify",
    contactsTitle: "Contacts",
    from: "From",
    to: "To",
    show: "Show contacts",
    folio: "Folio",
    joined: "Joined",
    service: "Service",
    reason: "Reason",
    citizen: "Citizen",
    executive: "Executive",
    outcome: "Outcome",
    detail: "Detail",
    open: "Open",
    contactTitle: "Contact",
    chatTitle: "Text chat",
    storyTitle: "Audit trail of the contact",
    trailTitle: "Audit trail",
    seq: "No.",
    at: "Time",
    kind: "Event",
    actor: "Who",
    contactId: "Contact",
    hash: "Hash",
    more: "Show more",
    erased: "(erased by retention)",
    noChat: "No chat kept.",
    language: "Español",
    languageHref: "?lang=es-CL",
    verifies: (n, erased, head) =>
      `The chain verifies: ${n} entries` +
      (erased ? `, ${erased} with personal data erased by retention` : "") +
      (head ? `. Head: ${head.seq}:${head.hash}` : "."),
    broken: (seq, reason) => `The chain is broken at entry ${seq}: ${reason}`,
    contactsFound: (n, from, to, cut) =>
      `${n === 1 ? "1 contact" : `${n} contacts`} from ${from} to ${to}` +
      `${cut ? " (the first ones are shown)" : ""}.`,
  },
};

const $ = (id) => document.getElementById(id);
let language = pageLanguage();
let words = WORDS[language];
let nextEntry = 0;

class ApiError extends Error {}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (response.status === 401) {
    window.location.assign("/login?next=/audit");
    throw new ApiError("");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(language === "en" ? body.message || "" : errorText(body.code, body.message));
  }
  return body;
}

function showError(error) {
  const box = $("error");
  box.textContent = error instanceof ApiError ? error.message : String(error);
  box.hidden = !box.textContent;
}

function when(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(language, { dateStyle: "short", timeStyle: "medium" }).format(
    new Date(iso),
  );
}

function cell(row, text, className = "") {
  const td = row.insertCell();
  td.textContent = text ?? "—";
  if (className) td.className = className;
  return td;
}

function entryRow(tbody, entry) {
  const row = tbody.insertRow();
  cell(row, String(entry.seq));
  cell(row, when(entry.at));
  cell(row, entry.kind);
  const who = cell(row, entry.erased ? `${entry.actor} ${words.erased}` : entry.actor);
  if (entry.erased) who.classList.add("erased");
  cell(row, entry.contactId);
  cell(row, `${entry.hash.slice(0, 12)}…`, "hash").title = entry.hash;
}

function showVerdict(result) {
  const verdict = $("verdict");
  verdict.dataset.state = result.ok ? "ok" : "broken";
  verdict.textContent = result.ok
    ? words.verifies(result.entries, result.erased, result.head)
    : words.broken(result.broken.seq, result.broken.reason);
}

async function verifyChain() {
  const head = $("head").value.trim();
  const result = await getJson(`/api/audit/verify${head ? `?head=${encodeURIComponent(head)}` : ""}`);
  showVerdict(result);
  return result;
}

async function showContact(contactId) {
  const detail = await getJson(`/api/audit/contacts/${encodeURIComponent(contactId)}`);
  const contact = detail.contact;
  $("contact-folio").textContent = contact.folio;
  const fields = $("contact-fields");
  fields.replaceChildren();
  for (const [name, value] of Object.entries(contact)) {
    const term = document.createElement("dt");
    term.textContent = name;
    const description = document.createElement("dd");
    description.textContent = value === null || value === "" ? "—" : String(value);
    fields.append(term, description);
  }
  const chat = $("contact-chat");
  chat.replaceChildren();
  for (const line of detail.chat) {
    const item = document.createElement("li");
    item.textContent = `${when(line.at)} · ${line.sender}: ${line.text}`;
    chat.append(item);
  }
  if (!detail.chat.length) {
    const item = document.createElement("li");
    item.textContent = words.noChat;
    chat.append(item);
  }
  const trail = $("contact-trail").tBodies[0];
  trail.replaceChildren();
  for (const entry of detail.trail) entryRow(trail, entry);
  $("contact").hidden = false;
  $("contact-title").focus();
}

async function listContacts() {
  const query = new URLSearchParams();
  if ($("from").value) query.set("from", $("from").value);
  if ($("to").value) query.set("to", $("to").value);
  const answer = await getJson(`/api/audit/contacts?${query}`);
  $("from").value = answer.from;
  $("to").value = answer.to;
  const tbody = $("contacts").tBodies[0];
  tbody.replaceChildren();
  for (const contact of answer.contacts) {
    const row = tbody.insertRow();
    cell(row, contact.folio);
    cell(row, when(contact.joined_at));
    cell(row, contact.service);
    cell(row, contact.reason_code);
    const citizen = contact.purged_at
      ? cell(row, words.erased, "erased")
      : cell(row, `${contact.citizen_run} · ${contact.citizen_name}`);
    citizen.dataset.contact = contact.contact_id;
    cell(row, contact.executive_name);
    cell(row, contact.outcome_code);
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = words.open;
    button.addEventListener("click", () => showContact(contact.contact_id).catch(showError));
    row.insertCell().append(button);
  }
  $("contacts-status").textContent = words.contactsFound(
    answer.contacts.length,
    answer.from,
    answer.to,
    answer.truncated,
  );
}

async function moreEntries() {
  const page = await getJson(`/api/audit/entries?after=${nextEntry}&limit=100`);
  const tbody = $("trail").tBodies[0];
  for (const entry of page.entries) entryRow(tbody, entry);
  if (page.entries.length) nextEntry = page.entries[page.entries.length - 1].seq;
  $("more").hidden = page.next === null;
}

function useLanguage(chosen) {
  language = chosen;
  words = WORDS[language];
  applyWords(document, words, language);
  const link = $("language");
  link.textContent = words.language;
  link.href = words.languageHref;
  link.lang = language === "en" ? "es-CL" : "en";
}

async function start() {
  useLanguage(language);
  $("verify-form").addEventListener("submit", (event) => {
    event.preventDefault();
    verifyChain().catch(showError);
  });
  $("contacts-form").addEventListener("submit", (event) => {
    event.preventDefault();
    listContacts().catch(showError);
  });
  $("more").addEventListener("click", () => moreEntries().catch(showError));
  const verdict = await verifyChain();
  // Without ?lang the branch's own default language decides.
  const chosen = pageLanguage(verdict.language);
  if (chosen !== language) {
    useLanguage(chosen);
    showVerdict(verdict);
  }
  await listContacts();
  await moreEntries();
}

start().catch(showError);
