// The auditors' page: read-only views of the records, the audit trail and its
// verification, all from /api/audit/* (every read there is itself audited).
import { errorKey, language, say, sayIn, t, useDefault } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let nextEntry = 0;
// What is shown, kept so a language switch writes it again in the other language.
const shown = { verdict: null, contacts: null, contact: null, entries: [] };

/** A refusal from the API: its code (and problem) name the words ("error.<code>[.<problem>]"). */
class ApiError extends Error {
  constructor(code, problem = null, values = {}) {
    super(code);
    this.code = code;
    this.problem = problem;
    this.values = values;
  }
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (response.status === 401) {
    window.location.assign("/login?next=/audit");
    throw new ApiError(null);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(body.code ?? "internal", body.problem, body.values ?? {});
  }
  return body;
}

function showError(error) {
  if (error instanceof ApiError) {
    sayIn($("error"), error.code ? errorKey(error.code, error.problem) : null, error.values);
  } else {
    sayIn($("error"), "error.other");
    console.error(error);
  }
}

function when(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(language(), { dateStyle: "short", timeStyle: "medium" }).format(
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
  const who = cell(row, entry.erased ? `${entry.actor} ${t("audit.erased")}` : entry.actor);
  if (entry.erased) who.classList.add("erased");
  cell(row, entry.contactId);
  cell(row, `${entry.hash.slice(0, 12)}…`, "hash").title = entry.hash;
}

function verdictText(result) {
  if (!result.ok) return t("audit.broken", { seq: result.broken.seq, reason: result.broken.reason });
  return (
    t("audit.verifies", { count: result.entries }) +
    (result.erased ? t("audit.verifiesErased", { count: result.erased }) : "") +
    (result.head ? t("audit.verifiesHead", { head: `${result.head.seq}:${result.head.hash}` }) : ".")
  );
}

function showVerdict(result) {
  shown.verdict = result;
  const verdict = $("verdict");
  verdict.dataset.state = result.ok ? "ok" : "broken";
  const text = verdictText(result);
  if (verdict.textContent !== text) verdict.textContent = text;
}

async function verifyChain() {
  const head = $("head").value.trim();
  const result = await getJson(`/api/audit/verify${head ? `?head=${encodeURIComponent(head)}` : ""}`);
  showVerdict(result);
  return result;
}

async function showContact(contactId) {
  const detail = await getJson(`/api/audit/contacts/${encodeURIComponent(contactId)}`);
  renderContact(detail);
  $("contact").hidden = false;
  $("contact-title").focus();
}

function renderContact(detail) {
  shown.contact = detail;
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
    say(item, "audit.noChat");
    chat.append(item);
  }
  const trail = $("contact-trail").tBodies[0];
  trail.replaceChildren();
  for (const entry of detail.trail) entryRow(trail, entry);
}

async function listContacts() {
  const query = new URLSearchParams();
  if ($("from").value) query.set("from", $("from").value);
  if ($("to").value) query.set("to", $("to").value);
  const answer = await getJson(`/api/audit/contacts?${query}`);
  $("from").value = answer.from;
  $("to").value = answer.to;
  renderContacts(answer);
}

function renderContacts(answer) {
  shown.contacts = answer;
  const tbody = $("contacts").tBodies[0];
  tbody.replaceChildren();
  for (const contact of answer.contacts) {
    const row = tbody.insertRow();
    cell(row, contact.folio);
    cell(row, when(contact.joined_at));
    cell(row, contact.service);
    cell(row, contact.reason_code);
    const citizen = contact.purged_at
      ? cell(row, t("audit.erased"), "erased")
      : cell(row, `${contact.citizen_run} · ${contact.citizen_name}`);
    citizen.dataset.contact = contact.contact_id;
    cell(row, contact.executive_name);
    cell(row, contact.outcome_code);
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t("audit.open");
    button.addEventListener("click", () => showContact(contact.contact_id).catch(showError));
    row.insertCell().append(button);
  }
  say($("contacts-status"), "audit.contactsFound", {
    count: answer.contacts.length,
    from: answer.from,
    to: answer.to,
    cut: answer.truncated ? { $words: "audit.firstShown" } : "",
  });
}

async function moreEntries() {
  const page = await getJson(`/api/audit/entries?after=${nextEntry}&limit=100`);
  const tbody = $("trail").tBodies[0];
  for (const entry of page.entries) entryRow(tbody, entry);
  shown.entries.push(...page.entries);
  if (page.entries.length) nextEntry = page.entries[page.entries.length - 1].seq;
  $("more").hidden = page.next === null;
}

/** Everything shown, again in the page's language now. */
function rewrite() {
  if (shown.verdict) showVerdict(shown.verdict);
  if (shown.contacts) renderContacts(shown.contacts);
  if (shown.contact) renderContact(shown.contact);
  const tbody = $("trail").tBodies[0];
  tbody.replaceChildren();
  for (const entry of shown.entries) entryRow(tbody, entry);
}

async function start() {
  window.addEventListener("branch:language", rewrite);
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
  // Unless the person chose (the switch or ?lang=), the branch's own default language decides.
  await useDefault(verdict.language);
  await listContacts();
  await moreEntries();
}

start().catch(showError);
