// The supervisors' reports page: filters, the figures, SVG charts and downloads.
// Every figure comes from /api/reports (branch/reports.py); nothing is computed here.

import { stackedBars } from "./charts.js";
import { errorKey, formatClock, language, say, t, useDefault } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const BREAKDOWNS = ["service", "reason", "outcome", "executive", "day"];
const COLUMNS = ["offered", "answered", "abandoned", "short", "serviceLevel", "asa", "aht", "satisfaction"];

function decimal(value, digits) {
  return new Intl.NumberFormat(language(), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    useGrouping: false,
  }).format(value);
}

const percent = (value) => (value === null ? "—" : t("reports.percent", { value: decimal(value * 100, 1) }));
// Rounded, not truncated, so the page and `branch report` show the same times.
const clock = (value) => (value === null ? "—" : formatClock(Math.round(value)));
const score = (value) => (value === null ? "—" : decimal(value, 2));

function signed(seconds) {
  const whole = Math.round(seconds);
  return `${whole > 0 ? "+" : ""}${whole}`;
}

function label(document_, breakdown, group) {
  const names = document_.labels[breakdown] ?? {};
  const pair = names[group.key];
  if (pair) return language() === "en" ? pair.en : pair.es;
  if (breakdown === "hour") return `${group.key}:00`;
  return group.name;
}

/** "0-15" as it is, "600-" as "600+": short enough for the chart's axis (in seconds). */
function waitAxis(key) {
  return key.endsWith("-") ? `${key.slice(0, -1)}+` : key;
}


function filters() {
  const params = new URLSearchParams();
  for (const name of ["from", "to", "service", "executive"]) {
    const value = $(name).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function fillTiles(document_) {
  const total = document_.total;
  $("fig-offered").textContent = String(total.offered);
  $("fig-answered").textContent = String(total.answered);
  $("fig-abandoned").textContent = String(total.abandoned);
  $("fig-short").textContent = t("reports.shortValue", {
    count: total.short_abandoned,
    seconds: document_.thresholds.short_abandon_seconds,
  });
  $("fig-closed").textContent = String(total.closed);
  $("fig-pending").textContent = String(total.pending);
  $("fig-threshold").textContent = t("reports.threshold", { seconds: document_.thresholds.service_level_seconds });
  $("fig-service-level").textContent = percent(total.service_level);
  $("fig-asa").textContent = clock(total.asa);
  $("fig-aht").textContent = clock(total.aht);
  $("fig-abandonment").textContent = percent(total.abandonment_rate);
  $("fig-transfer").textContent = percent(total.transfer_rate);
  $("fig-estimate").textContent =
    total.estimate_error === null
      ? "—"
      : t("reports.estimateValue", {
          error: Math.round(total.estimate_error),
          bias: t("reports.bias"),
          signed: signed(total.estimate_bias),
        });
  $("fig-satisfaction").textContent =
    total.satisfaction === null
      ? "—"
      : t("reports.satisfactionValue", {
          score: score(total.satisfaction),
          count: total.surveyed,
          surveys: t("reports.surveys"),
        });
}

function drawCharts(document_) {
  const series = [
    { name: t("reports.answered"), className: "answered" },
    { name: t("reports.unanswered"), className: "unanswered" },
  ];
  const split = (summary) => [summary.answered, summary.offered - summary.answered - summary.pending];
  for (const id of ["chart-hours", "chart-reasons", "chart-waits"]) $(id).dataset.empty = t("reports.empty");
  // Every hour from the first to the last with contacts, so quiet hours show as gaps.
  const hours = document_.by_hour.map((group) => Number(group.key));
  const byHour = new Map(document_.by_hour.map((group) => [Number(group.key), group]));
  const hourBars = [];
  for (let hour = Math.min(...hours); hours.length && hour <= Math.max(...hours); hour += 1) {
    const group = byHour.get(hour);
    hourBars.push({
      label: String(hour).padStart(2, "0"),
      values: group ? split(group) : [0, 0],
    });
  }
  stackedBars($("chart-hours"), hourBars, series);
  const reasons = [...document_.by_reason].sort((a, b) => b.offered - a.offered);
  stackedBars(
    $("chart-reasons"),
    reasons.map((group) => ({ label: label(document_, "reason", group), values: split(group) })),
    series,
    { horizontal: true },
  );
  const anyWait = document_.by_wait.some((group) => group.offered > 0);
  stackedBars(
    $("chart-waits"),
    anyWait
      ? document_.by_wait.map((group) => ({ label: waitAxis(group.key), values: split(group) }))
      : [],
    series,
  );
}

function cell(row, text, header = false) {
  const element = document.createElement(header ? "th" : "td");
  element.textContent = text;
  row.append(element);
}

function fillTables(document_) {
  const section = $("breakdowns");
  section.replaceChildren();
  for (const breakdown of BREAKDOWNS) {
    const groups = document_[`by_${breakdown}`];
    if (!groups.length) continue;
    const table = document.createElement("table");
    table.id = `table-${breakdown}`;
    const caption = document.createElement("caption");
    caption.textContent = t(`reports.by.${breakdown}`);
    table.append(caption);
    const head = table.createTHead().insertRow();
    const headings = [t("reports.name"), ...COLUMNS.map((column) => t(`reports.column.${column}`))];
    for (const heading of headings) cell(head, heading, true);
    const body = table.createTBody();
    for (const group of groups) {
      const row = body.insertRow();
      row.dataset.key = group.key;
      cell(row, label(document_, breakdown, group), true);
      for (const text of [
        String(group.offered),
        String(group.answered),
        String(group.abandoned),
        String(group.short_abandoned),
        percent(group.service_level),
        clock(group.asa),
        clock(group.aht),
        score(group.satisfaction),
      ]) {
        cell(row, text);
      }
    }
    const wrapper = document.createElement("div");
    wrapper.className = "table-wrap";
    wrapper.append(table);
    section.append(wrapper);
  }
}

function fillServices(document_) {
  const select = $("service");
  if (select.options.length > 1) return;
  for (const [code, pair] of Object.entries(document_.labels.service)) {
    select.append(new Option(language() === "en" ? pair.en : pair.es, code));
  }
  select.value = document_.period.service ?? "";
}

// Executives seen in any report so far, offered as suggestions for the filter.
const executives = new Map();

function fillExecutives(document_) {
  for (const group of document_.by_executive) {
    if (executives.has(group.key)) continue;
    executives.set(group.key, group.name);
    const option = document.createElement("option");
    option.value = group.key;
    option.label = group.name;
    $("executives").append(option);
  }
}

function render(document_) {
  useDefault(document_.language);
  shown = document_;
  const period = document_.period;
  $("from").value = period.from;
  $("to").value = period.to;
  fillServices(document_);
  fillExecutives(document_);
  $("period").textContent = period.from === period.to ? period.from : `${period.from} – ${period.to}`;
  const params = filters();
  $("download-csv").href = `/api/reports?${params}&format=csv`;
  $("download-json").href = `/api/reports?${params}&format=json&download=1`;
  const name = t("reports.download", { from: period.from, to: period.to });
  $("download-csv").download = `${name}.csv`;
  $("download-json").download = `${name}.json`;
  fillTiles(document_);
  drawCharts(document_);
  fillTables(document_);
  $("report").hidden = false;
  say($("status"), document_.total.offered === 0 ? "reports.empty" : null);
}

let latest = 0;
let shown = null; // the report on the page, drawn again when the language changes

async function load(params) {
  // Only the last request asked for is shown, whatever order the answers come in.
  const mine = ++latest;
  $("error").hidden = true;
  say($("status"), "reports.loading");
  const response = await fetch(`/api/reports?${params}`, { headers: { Accept: "application/json" } });
  if (mine !== latest) return;
  if (response.status === 401) {
    window.location.assign("/login?next=/reports");
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (mine !== latest) return;
  if (!response.ok) {
    say($("status"), null);
    // A bad period or filter is worded by its problem, in the page's language.
    say($("error"), errorKey(body.code, body.problem), body.values ?? {});
    $("error").hidden = false;
    return;
  }
  render(body);
}

window.addEventListener("branch:language", () => {
  if (shown) render(shown);
});
$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  load(filters());
});
load(new URLSearchParams());
