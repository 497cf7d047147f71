// A target's page: its settings, uptime cards, latency chart, recent checks and incidents,
// kept current by the live events, and the check-now, pause/resume and delete actions.

import { drawLatencyChart } from "./chart.js";
import { address, badge, duration, escape, formatMs, percent, when } from "./format.js";
import { request } from "./graphql.js";
import { $, announce, backgroundFailed, confirmDialog, setTitle, showError } from "./page.js";
import { CHECK_NOW, DELETE, INCIDENTS, PAUSE, RESUME, SERIES, TARGET } from "./queries.js";
import { reloadRow, state } from "./state.js";

const WINDOWS = [
  ["LAST_HOUR", "1 hour"],
  ["LAST_24_HOURS", "24 hours"],
  ["LAST_7_DAYS", "7 days"],
  ["LAST_30_DAYS", "30 days"],
  ["LAST_90_DAYS", "90 days"],
];

function checkRow(c) {
  const error = c.errorKind ? `<strong>${escape(c.errorKind)}</strong> ${escape(c.message)}` : escape(c.message || "");
  return `<tr><td data-label="Slot">${when(c.scheduledFor)}</td><td data-label="Status">${badge(c.status)}</td>
    <td data-label="Latency" class="num">${formatMs(c.latencyMs)}</td>
    <td data-label="HTTP" class="num">${c.httpStatus ?? "–"}</td><td data-label="Error" class="error-text">${error}</td></tr>`;
}

function incidentRow(i) {
  const end = i.resolvedAt ? new Date(i.resolvedAt) : new Date();
  const lasted = (end - new Date(i.startedAt)) / 1000;
  return `<tr><td data-label="Started">${when(i.startedAt)}</td>
    <td data-label="Resolved">${i.resolvedAt ? when(i.resolvedAt) : '<span class="badge s-down">ongoing</span>'}</td>
    <td data-label="Duration" class="num">${duration(lasted)}</td><td data-label="Cause">${escape(i.cause || "")}</td></tr>`;
}

function incidentsHtml(edges) {
  if (!edges.length) return `<p class="muted">No incidents.</p>`;
  return `<table class="list"><thead><tr><th scope="col">Started</th><th scope="col">Resolved</th>
    <th scope="col" class="num">Duration</th><th scope="col">Cause</th></tr></thead>
    <tbody>${edges.map((e) => incidentRow(e.node)).join("")}</tbody></table>`;
}

function uptimeCard(label, u) {
  return `<div class="card"><h3>${label}</h3><p class="big">${percent(u.ratio)}</p>
    <p class="muted">${u.checks} checks, ${u.failures} failed · coverage ${percent(u.coverage)}
    · p95 ${formatMs(u.latency?.p95Ms ?? null)} · down ${duration(u.downtimeSeconds)}</p></div>`;
}

export async function renderTarget(root, id, stale) {
  let windowName = sessionStorage.getItem("uptime.window") || "LAST_HOUR";
  root.innerHTML = `<p class="muted" role="status">Loading…</p>`;
  const data = await request(TARGET, { id, window: windowName });
  if (stale()) return null; // another route was taken meanwhile
  const t = data.target;
  if (!t) {
    root.innerHTML = `<h1>Not found</h1><p>No target has this id. <a href="#/">Back to all targets</a></p>`;
    return null;
  }
  setTitle(t.name);
  root.innerHTML = `
    <nav class="crumbs" aria-label="Breadcrumb"><a href="#/">All targets</a></nav>
    <section aria-labelledby="target-title">
      <div class="toolbar">
        <h1 id="target-title">${escape(t.name)} <span id="target-status">${badge(t.status)}</span></h1>
        <div class="actions" role="group" aria-label="Actions">
          <button type="button" id="check-now">Check now</button>
          <button type="button" id="pause">${t.paused ? "Resume" : "Pause"}</button>
          <a class="button" href="#/target/${encodeURIComponent(t.id)}/edit">Edit</a>
          <button type="button" id="delete" class="danger">Delete</button>
        </div>
      </div>
      <p class="muted">${t.kind} · ${escape(address(t))} · every ${t.intervalSeconds} s,
        timeout ${t.timeoutSeconds} s · down after ${t.failureThreshold} failures, up after ${t.recoveryThreshold} passes,
        confirmed every ${t.effectiveRetryIntervalSeconds} s</p>
      <p id="action-note" role="status" class="muted"></p>
      <div class="cards">${uptimeCard("Last hour", t.hour)}${uptimeCard("24 hours", t.day)}${uptimeCard("7 days", t.week)}${uptimeCard("30 days", t.month)}</div>
      <section aria-labelledby="latency-title">
        <div class="toolbar">
          <h2 id="latency-title">Latency</h2>
          <label>Window <select id="window">${WINDOWS.map(([v, l]) => `<option value="${v}">${l}</option>`).join("")}</select></label>
        </div>
        <p class="legend"><span class="key p50"></span> p50 <span class="key p95"></span> p95 <span class="key fail"></span> failures</p>
        <div id="chart" class="chart-box"></div>
      </section>
      <section aria-labelledby="checks-title">
        <h2 id="checks-title">Recent checks</h2>
        <table class="list"><thead><tr><th scope="col">Slot</th><th scope="col">Status</th><th scope="col" class="num">Latency</th>
          <th scope="col" class="num">HTTP</th><th scope="col">Error</th></tr></thead>
          <tbody id="checks">${t.checks.edges.map((e) => checkRow(e.node)).join("")}</tbody></table>
        <p id="no-checks" class="muted" ${t.checks.edges.length ? "hidden" : ""}>No checks yet.</p>
      </section>
      <section aria-labelledby="incidents-title">
        <h2 id="incidents-title">Incidents</h2>
        <div id="incidents">${incidentsHtml(t.incidents.edges)}</div>
      </section>
    </section>`;

  let points = t.latencySeries;
  const chart = $("#chart", root);
  const select = $("#window", root);
  select.value = windowName;
  const draw = () => drawLatencyChart(chart, points);
  draw();
  let lastSeries = performance.now();
  let seriesTimer = null;
  const reloadSeries = async () => {
    const answer = await request(SERIES, { id, window: windowName });
    if (answer.target) {
      points = answer.target.latencySeries;
      lastSeries = performance.now();
      draw();
    }
  };
  select.addEventListener("change", () => {
    windowName = select.value;
    sessionStorage.setItem("uptime.window", windowName);
    reloadSeries().catch(showError);
  });
  const resize = new ResizeObserver(() => draw());
  resize.observe(chart);

  const note = $("#action-note", root);
  let paused = t.paused;
  const act = async (mutation, done) => {
    try {
      const answer = Object.values(await request(mutation, { id }))[0];
      if (answer.message) note.textContent = answer.message;
      else done(answer);
    } catch (error) {
      showError(error);
    }
  };
  $("#check-now", root).addEventListener("click", () =>
    act(CHECK_NOW, (answer) => {
      note.textContent = answer.paused
        ? "Paused targets are not checked: resume it first."
        : "A check is on its way.";
    }),
  );
  $("#pause", root).addEventListener("click", (event) => {
    act(paused ? RESUME : PAUSE, (answer) => {
      paused = answer.paused;
      event.target.textContent = paused ? "Resume" : "Pause";
      $("#target-status", root).innerHTML = badge(answer.status);
      note.textContent = paused ? "Paused: no checks until resumed." : "Resumed: checking again.";
      reloadRow(id).catch(backgroundFailed);
    });
  });
  $("#delete", root).addEventListener("click", async () => {
    if (!(await confirmDialog(`Delete “${t.name}” with all its checks and incidents?`, "Delete"))) return;
    act(DELETE, () => {
      state.targets.delete(id);
      announce(`${t.name} deleted`);
      location.hash = "#/";
    });
  });

  const body = $("#checks", root);
  return {
    check(c) {
      if (c.target.id !== id) return;
      body.insertAdjacentHTML("afterbegin", checkRow(c));
      while (body.rows.length > 50) body.deleteRow(-1);
      $("#no-checks", root).hidden = true;
      // The chart follows the checks, redrawn at most every 10 s.
      if (!seriesTimer) {
        const wait = Math.max(0, lastSeries + 10_000 - performance.now());
        seriesTimer = setTimeout(() => {
          seriesTimer = null;
          reloadSeries().catch(backgroundFailed);
        }, wait);
      }
    },
    status(change) {
      if (change.target.id !== id) return;
      $("#target-status", root).innerHTML = badge(change.current);
      // A confirmed change opens or closes an incident: read the list again.
      request(INCIDENTS, { id })
        .then((answer) => {
          if (answer.target) $("#incidents", root).innerHTML = incidentsHtml(answer.target.incidents.edges);
        })
        .catch(backgroundFailed);
    },
    close() {
      resize.disconnect();
      clearTimeout(seriesTimer);
    },
  };
}
