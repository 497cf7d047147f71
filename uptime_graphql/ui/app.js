// The dashboard: an overview of every target kept live by subscriptions, a page per target,
// and the add/edit form. Routes live in the URL's hash: #/, #/new, #/target/<id>[/edit].

import { drawLatencyChart, formatMs } from "./chart.js";
import {
  Live, Unauthenticated, forgetToken, onTokenNeeded, onTokenStored, request, token,
} from "./graphql.js";
import { changedOnly, fieldFor, formInput, renderForm, showProblems } from "./form.js";

const STRIP = 20; // recent checks shown per target
const STATUSES = ["UP", "DEGRADED", "DOWN", "PENDING", "PAUSED", "UNKNOWN"];
// Uptime figures on the overview are read again after checks arrived, at most this often.
const STATS_REFRESH_MS = 60_000;

const ROW_FIELDS = `
  id name kind url host port paused status
  checks(first: ${STRIP}) { edges { node { status } } }
  day: uptime(window: LAST_24_HOURS) { ratio latency { p95Ms } }
  week: uptime(window: LAST_7_DAYS) { ratio }
  month: uptime(window: LAST_30_DAYS) { ratio }`;

const OVERVIEW = `query Overview($after: String) {
  targets(first: 100, after: $after) {
    edges { node { ${ROW_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const ONE_ROW = `query Row($id: ID!) { target(id: $id) { ${ROW_FIELDS} } }`;

const UPTIME = "ratio coverage checks failures downtimeSeconds latency { p50Ms p95Ms }";
const TARGET = `query Target($id: ID!, $window: UptimeWindow!) {
  target(id: $id) {
    id name kind url host port intervalSeconds timeoutSeconds failureThreshold
    recoveryThreshold paused status statusChangedAt createdAt
    http { method headers { name } hasBody acceptedStatusCodes followRedirects maxRedirects
           verifyTls keyword keywordAbsent jsonAssertion { path operator value }
           degradedLatencyMs certExpiryDays ipFamily }
    tcp { tls verifyTls certExpiryDays degradedLatencyMs ipFamily }
    icmp { degradedLatencyMs ipFamily }
    hour: uptime(window: LAST_HOUR) { ${UPTIME} }
    day: uptime(window: LAST_24_HOURS) { ${UPTIME} }
    week: uptime(window: LAST_7_DAYS) { ${UPTIME} }
    month: uptime(window: LAST_30_DAYS) { ${UPTIME} }
    latencySeries(window: $window) { start checks failures p50Ms p95Ms }
    checks(first: 50) { edges { node { scheduledFor status latencyMs errorKind message httpStatus } } }
    incidents(first: 20) { edges { node { id startedAt resolvedAt cause } } }
  }
}`;

const SERIES = `query Series($id: ID!, $window: UptimeWindow!) {
  target(id: $id) { latencySeries(window: $window) { start checks failures p50Ms p95Ms } }
}`;

const RESULT = `... on Target { id name status paused }
  ... on ValidationError { message field problems { field message } }
  ... on NotFoundError { message }`;

// -- helpers ---------------------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);

export function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function percent(ratio) {
  if (ratio === null || ratio === undefined) return "–";
  const value = ratio * 100;
  return `${value === 100 ? "100" : value >= 99.995 ? "99.99" : value.toFixed(2)} %`;
}

function address(t) {
  if (t.kind === "HTTP") return t.url;
  return t.port ? `${t.host}:${t.port}` : t.host;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

// Writing the same text again still costs a layout: only write what changed.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function badge(status) {
  return `<span class="badge s-${status.toLowerCase()}">${status}</span>`;
}

// A refresh the page started by itself failed (the API restarting, say): the figures stay as
// they were, and the reconnection reads everything again. A warning, not an error.
function backgroundFailed(error) {
  console.warn("uptime: a background refresh failed:", error);
}

let announcer;
function announce(text) {
  announcer.textContent = text;
}

function setTitle(text) {
  document.title = text ? `${text} · uptime` : "uptime";
}

// -- state -----------------------------------------------------------------------------------

const state = {
  targets: new Map(), // id -> target (ROW_FIELDS, with .strip: statuses oldest first)
  loaded: false,
  dirty: new Set(), // ids whose row must be redrawn
  checked: new Set(), // ids with checks since their uptime was read
  listeners: new Set(), // the open page's event hooks
  received: 0, // checks received live (read by the browser tests and bench/ui.py)
  lastStatsRefresh: 0,
  statsTimer: null,
  statsDue: 0,
  firstFigures: new Set(), // ids whose first figures were asked for early (once each)
  reading: new Set(), // ids of rows being read (a target created elsewhere)
};

function toRow(node) {
  const strip = node.checks.edges.map((e) => e.node.status).reverse();
  const { checks, ...rest } = node;
  return { ...rest, strip };
}

/** Read every target, a page of 100 at a time; `onPage` sees the targets read so far (the
 * first load shows each page as it comes). */
async function loadAll(onPage = null) {
  const found = new Map();
  let after = null;
  for (;;) {
    const data = await request(OVERVIEW, { after });
    for (const edge of data.targets.edges) found.set(edge.node.id, toRow(edge.node));
    if (!data.targets.pageInfo.hasNextPage) break;
    after = data.targets.pageInfo.endCursor;
    if (onPage) onPage(found);
  }
  state.targets = found;
  state.loaded = true;
  state.checked.clear();
  state.lastStatsRefresh = performance.now();
}

async function reloadRow(id) {
  const data = await request(ONE_ROW, { id });
  if (data.target) state.targets.set(id, toRow(data.target));
  else state.targets.delete(id);
  markDirty(id);
}

let frame = 0;
function markDirty(id) {
  state.dirty.add(id);
  if (!frame) {
    frame = requestAnimationFrame(() => {
      frame = 0;
      for (const listener of state.listeners) listener.flush?.();
      state.dirty.clear();
    });
  }
}

// Uptime figures move slowly; re-read them for targets that had checks, never more often than
// STATS_REFRESH_MS, and only because checks arrived (no timer runs while nothing happens).
// A new target's first figures come after FIRST_FIGURES_MS, for all new targets at once.
const FIRST_FIGURES_MS = 2_000;

function scheduleStatsRefresh(soon = false) {
  const due = soon ? FIRST_FIGURES_MS : state.lastStatsRefresh + STATS_REFRESH_MS - performance.now();
  if (state.statsTimer) {
    if (!soon || state.statsDue <= performance.now() + FIRST_FIGURES_MS) return;
    clearTimeout(state.statsTimer);
  }
  const wait = Math.max(0, due);
  state.statsDue = performance.now() + wait;
  state.statsTimer = setTimeout(async () => {
    state.statsTimer = null;
    if (!state.checked.size) return;
    try {
      await loadAll();
      listenersReloaded();
    } catch (error) {
      backgroundFailed(error);
    }
  }, wait);
}

function onCheck(check) {
  state.received++;
  const id = check.target.id;
  const target = state.targets.get(id);
  if (!target) {
    // A target created elsewhere: read its row (once, however many of its checks arrive).
    if (state.loaded && !state.reading.has(id)) {
      state.reading.add(id);
      reloadRow(id)
        .then(listenersReloaded, backgroundFailed)
        .finally(() => state.reading.delete(id));
    }
  } else {
    target.strip.push(check.status);
    if (target.strip.length > STRIP) target.strip.splice(0, target.strip.length - STRIP);
    state.checked.add(id);
    // A target without figures yet (new): read them soon rather than at the next refresh.
    const first = target.day.ratio === null && !state.firstFigures.has(id);
    if (first) state.firstFigures.add(id);
    scheduleStatsRefresh(first);
    markDirty(id);
  }
  for (const listener of state.listeners) listener.check?.(check);
}

function onStatusChange(change) {
  const target = state.targets.get(change.target.id);
  if (target) {
    target.status = change.current;
    target.paused = change.target.paused;
    markDirty(target.id);
    announce(`${target.name} is ${change.current}`);
  }
  for (const listener of state.listeners) listener.status?.(change);
}

function listenersReloaded() {
  for (const listener of state.listeners) listener.reloaded?.();
}

const live = new Live({
  onReconnect: async () => {
    // Events sent while the connection was down are lost: read everything again.
    await loadAll();
    listenersReloaded();
  },
  onState: (s) => {
    document.body.dataset.live = s;
    $("#live-state").textContent = s === "live" ? "Live" : "Reconnecting…";
  },
});

function startLive() {
  live.subscribe(
    // Batched: every check of every target, at most four messages a second however many
    // targets there are (one message per check would be hundreds a second at scale).
    "subscription { checksCompleted(maxDelayMs: 250) { scheduledFor status latencyMs errorKind message httpStatus target { id } } }",
    {},
    (data) => {
      for (const check of data.checksCompleted) onCheck(check);
    },
  );
  live.subscribe(
    "subscription { targetStatusChanged { target { id paused } previous current at } }",
    {},
    (data) => onStatusChange(data.targetStatusChanged),
  );
}

// -- overview --------------------------------------------------------------------------------

// The strip is one element painted with a gradient of STRIP bars (set through the CSSOM, which
// the page's Content-Security-Policy allows): a new check repaints one element, with no
// layout, where STRIP child elements per row would weigh on every layout of the table.
const STRIP_COLOURS = { UP: "var(--up)", DOWN: "var(--down)", DEGRADED: "var(--degraded)" };

function stripGradient(strip) {
  const pad = STRIP - strip.length;
  const step = 100 / STRIP;
  const stops = [];
  for (let i = 0; i < STRIP; i++) {
    const colour = i < pad ? "var(--line)" : STRIP_COLOURS[strip[i - pad]] || "var(--unknown)";
    const a = (i * step).toFixed(2);
    const b = ((i + 0.7) * step).toFixed(2);
    const c = ((i + 1) * step).toFixed(2);
    stops.push(`${colour} ${a}% ${b}%, transparent ${b}% ${c}%`);
  }
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

function stripLabel(strip) {
  if (!strip.length) return "No checks yet";
  const down = strip.filter((s) => s === "DOWN").length;
  return `Last ${strip.length} checks: ${strip.length - down} passed, ${down} failed; latest ${strip[strip.length - 1]}`;
}

function rowHtml(t) {
  return `<tr data-id="${escape(t.id)}">
    <td data-label="Status" class="status">${badge(t.status)}</td>
    <td class="name"><a href="#/target/${encodeURIComponent(t.id)}">${escape(t.name)}</a>
        <span class="muted">${t.kind} · ${escape(address(t))}</span></td>
    <td data-label="Recent" class="strip"><span class="cells" role="img" aria-label="${escape(stripLabel(t.strip))}"></span></td>
    <td data-label="24 h" class="num day">${percent(t.day.ratio)}</td>
    <td data-label="7 d" class="num week">${percent(t.week.ratio)}</td>
    <td data-label="30 d" class="num month">${percent(t.month.ratio)}</td>
    <td data-label="p95 24 h" class="num p95">${formatMs(t.day.latency?.p95Ms ?? null)}</td>
  </tr>`;
}

// "Up" includes DEGRADED (it passes its checks), as the count at the top does.
function matches(t, filter, search) {
  if (filter === "UP" ? t.status !== "UP" && t.status !== "DEGRADED" : filter && t.status !== filter) {
    return false;
  }
  return !search || t.name.toLowerCase().includes(search);
}

function renderOverview(root) {
  setTitle("");
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  root.innerHTML = `
    <section aria-labelledby="overview-title">
      <div class="toolbar">
        <h1 id="overview-title">Targets</h1>
        <a class="button primary" href="#/new">Add target</a>
      </div>
      <ul class="counts" aria-label="Counts">
        <li><button type="button" data-filter="UP" class="count s-up"><strong id="count-up">0</strong> up</button></li>
        <li><button type="button" data-filter="DOWN" class="count s-down"><strong id="count-down">0</strong> down</button></li>
        <li><button type="button" data-filter="PAUSED" class="count s-paused"><strong id="count-paused">0</strong> paused</button></li>
        <li><button type="button" data-filter="" class="count"><strong id="count-all">0</strong> in all</button></li>
      </ul>
      <form class="filters" role="search">
        <label>Status
          <select id="filter-status">
            <option value="">All</option>
            ${STATUSES.map((s) => `<option value="${s}">${s === "UP" ? "Up (or degraded)" : s[0] + s.slice(1).toLowerCase()}</option>`).join("")}
          </select>
        </label>
        <label>Search by name <input id="search" type="search" autocomplete="off"></label>
      </form>
      <p id="overview-note" class="muted" role="status"></p>
      <table class="targets">
        <caption class="visually-hidden">Targets with their status, recent checks, uptime and 95th percentile latency</caption>
        <thead><tr><th scope="col">Status</th><th scope="col">Name</th><th scope="col">Recent checks</th>
          <th scope="col" class="num">24 h</th><th scope="col" class="num">7 d</th>
          <th scope="col" class="num">30 d</th><th scope="col" class="num">p95 (24 h)</th></tr></thead>
        <tbody id="rows"></tbody>
      </table>
    </section>`;
  const body = $("#rows", root);
  const select = $("#filter-status", root);
  const search = $("#search", root);
  const note = $("#overview-note", root);
  select.value = params.get("status") || "";
  search.value = params.get("q") || "";
  const rows = new Map();

  const counts = () => {
    let up = 0;
    let down = 0;
    let paused = 0;
    for (const t of state.targets.values()) {
      if (t.status === "UP" || t.status === "DEGRADED") up++;
      else if (t.status === "DOWN") down++;
      if (t.paused) paused++;
    }
    setText($("#count-up", root), String(up));
    setText($("#count-down", root), String(down));
    setText($("#count-paused", root), String(paused));
    setText($("#count-all", root), String(state.targets.size));
  };

  const applyFilter = () => {
    const filter = select.value;
    const text = search.value.trim().toLowerCase();
    let shown = 0;
    for (const [id, tr] of rows) {
      const visible = matches(state.targets.get(id), filter, text);
      tr.classList.toggle("filtered-out", !visible);
      if (visible) shown++;
    }
    if (!state.targets.size) note.textContent = state.loaded ? "No targets yet: add one." : "Loading…";
    else if (!state.loaded) note.textContent = `${state.targets.size} targets so far, loading the rest…`;
    else note.textContent = shown === state.targets.size ? "" : `${shown} of ${state.targets.size} targets shown`;
  };

  const drawAll = () => {
    body.innerHTML = [...state.targets.values()].map(rowHtml).join("");
    rows.clear();
    for (const tr of body.rows) {
      rows.set(tr.dataset.id, tr);
      const cells = tr.cells[2].firstElementChild;
      cells.dataset.painted = stripGradient(state.targets.get(tr.dataset.id).strip);
      cells.style.backgroundImage = cells.dataset.painted;
    }
    counts();
    applyFilter();
    if (state.loaded && !performance.getEntriesByName("uptime:overview").length) {
      performance.mark("uptime:overview"); // the first full render, for the measurements
    }
  };

  const updateRow = (id) => {
    const t = state.targets.get(id);
    const tr = rows.get(id);
    if (!t || !tr) return false;
    const status = tr.cells[0].firstElementChild;
    if (status.textContent !== t.status) {
      status.textContent = t.status;
      status.className = `badge s-${t.status.toLowerCase()}`;
    }
    const cells = tr.cells[2].firstElementChild;
    const gradient = stripGradient(t.strip);
    if (cells.dataset.painted !== gradient) {
      cells.style.backgroundImage = gradient;
      cells.dataset.painted = gradient;
    }
    const label = stripLabel(t.strip);
    if (cells.getAttribute("aria-label") !== label) cells.setAttribute("aria-label", label);
    setText(tr.cells[3], percent(t.day.ratio));
    setText(tr.cells[4], percent(t.week.ratio));
    setText(tr.cells[5], percent(t.month.ratio));
    setText(tr.cells[6], formatMs(t.day.latency?.p95Ms ?? null));
    const filter = select.value;
    if (filter) tr.classList.toggle("filtered-out", !matches(t, filter, search.value.trim().toLowerCase()));
    return true;
  };

  const listener = {
    flush() {
      let missing = false;
      for (const id of state.dirty) missing = !updateRow(id) || missing;
      if (missing || rows.size !== state.targets.size) drawAll();
      else counts();
    },
    reloaded() {
      // The same targets: update the rows in place (cheap); otherwise draw them all again.
      const same = rows.size === state.targets.size && [...state.targets.keys()].every((id) => rows.has(id));
      if (!same) return drawAll();
      for (const id of rows.keys()) updateRow(id);
      counts();
    },
  };

  const remember = () => {
    const q = new URLSearchParams();
    if (select.value) q.set("status", select.value);
    if (search.value) q.set("q", search.value);
    history.replaceState(null, "", `#/${q.size ? `?${q}` : ""}`);
  };
  $(".filters", root).addEventListener("submit", (event) => event.preventDefault());
  select.addEventListener("change", () => { applyFilter(); remember(); });
  search.addEventListener("input", () => { applyFilter(); remember(); });
  root.querySelectorAll("[data-filter]").forEach((button) =>
    button.addEventListener("click", () => {
      select.value = button.dataset.filter;
      applyFilter();
      remember();
    }),
  );
  drawAll();
  if (!state.loaded) {
    const partial = (found) => {
      state.targets = found;
      drawAll();
    };
    loadAll(partial).then(drawAll, showError);
  }
  return listener;
}

// -- a target's page -------------------------------------------------------------------------

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

const INCIDENTS = `query Incidents($id: ID!) {
  target(id: $id) { incidents(first: 20) { edges { node { id startedAt resolvedAt cause } } } }
}`;

function uptimeCard(label, u) {
  return `<div class="card"><h3>${label}</h3><p class="big">${percent(u.ratio)}</p>
    <p class="muted">${u.checks} checks, ${u.failures} failed · coverage ${percent(u.coverage)}
    · p95 ${formatMs(u.latency?.p95Ms ?? null)} · down ${duration(u.downtimeSeconds)}</p></div>`;
}

async function renderTarget(root, id) {
  let windowName = sessionStorage.getItem("uptime.window") || "LAST_HOUR";
  root.innerHTML = `<p class="muted" role="status">Loading…</p>`;
  const shown = routed;
  const data = await request(TARGET, { id, window: windowName });
  if (shown !== routed) return null; // another route was taken meanwhile
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
        timeout ${t.timeoutSeconds} s · down after ${t.failureThreshold} failures, up after ${t.recoveryThreshold} passes</p>
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
    act(`mutation($id: ID!) { checkTargetNow(id: $id) { ${RESULT} } }`, (answer) => {
      note.textContent = answer.paused
        ? "Paused targets are not checked: resume it first."
        : "A check is on its way.";
    }),
  );
  $("#pause", root).addEventListener("click", (event) => {
    const verb = paused ? "resumeTarget" : "pauseTarget";
    act(`mutation($id: ID!) { ${verb}(id: $id) { ${RESULT} } }`, (answer) => {
      paused = answer.paused;
      event.target.textContent = paused ? "Resume" : "Pause";
      $("#target-status", root).innerHTML = badge(answer.status);
      note.textContent = paused ? "Paused: no checks until resumed." : "Resumed: checking again.";
      reloadRow(id).catch(backgroundFailed);
    });
  });
  $("#delete", root).addEventListener("click", async () => {
    if (!(await confirmDialog(`Delete “${t.name}” with all its checks and incidents?`, "Delete"))) return;
    act(`mutation($id: ID!) { deleteTarget(id: $id) { ... on Deleted { id } ... on NotFoundError { message } } }`, () => {
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

// -- add and edit ----------------------------------------------------------------------------

async function renderEditor(root, id) {
  let existing = null;
  if (id) {
    const shown = routed;
    const data = await request(TARGET, { id, window: "LAST_HOUR" });
    if (shown !== routed) return null; // another route was taken meanwhile
    existing = data.target;
    if (!existing) {
      root.innerHTML = `<h1>Not found</h1><p><a href="#/">Back to all targets</a></p>`;
      return null;
    }
  }
  setTitle(existing ? `Edit ${existing.name}` : "Add target");
  root.innerHTML = `
    <nav class="crumbs" aria-label="Breadcrumb"><a href="#/">All targets</a>
      ${existing ? ` › <a href="#/target/${encodeURIComponent(id)}">${escape(existing.name)}</a>` : ""}</nav>
    <h1>${existing ? `Edit ${escape(existing.name)}` : "Add a target"}</h1>
    ${renderForm(existing)}`;
  const form = $("form.target-form", root);
  // What the untouched form says: a save sends only what differs from it.
  const initial = existing ? formInput(form, existing).input : null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { input: given, problems } = formInput(form, existing);
    const input = existing ? changedOnly(initial, given) : given;
    if (problems.length) {
      showProblems(form, { problems });
      return;
    }
    const mutation = existing
      ? `mutation($input: UpdateTargetInput!) { result: updateTarget(input: $input) { ${RESULT} } }`
      : `mutation($input: CreateTargetInput!) { result: createTarget(input: $input) { ${RESULT} } }`;
    const submit = $("button[type=submit]", form);
    submit.disabled = true;
    try {
      const { result } = await request(mutation, { input });
      if (result.problems) {
        showProblems(form, result);
        return;
      }
      if (result.message) {
        showProblems(form, { problems: [], message: result.message });
        return;
      }
      await reloadRow(result.id);
      announce(`${result.name} saved`);
      location.hash = `#/target/${encodeURIComponent(result.id)}`;
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
    }
  });
  $("[name=name]", form).focus();
  return {};
}

// -- dialogs ---------------------------------------------------------------------------------

function confirmDialog(text, action) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  $("#confirm-cancel").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

function askToken(rejected) {
  const dialog = $("#token");
  const input = $("#token-input");
  $("#token-note").textContent = rejected
    ? "The server refused the stored token. Enter the right one."
    : "This server requires a token (UPTIME_API_TOKEN). It is kept in this browser.";
  input.value = "";
  dialog.returnValue = "";
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null),
      { once: true },
    );
  });
}

function showError(error) {
  const box = $("#error");
  box.textContent =
    error instanceof Unauthenticated ? "A token is required to use this server." : String(error.message || error);
  box.hidden = false;
}

// -- routing ---------------------------------------------------------------------------------

let current = null;
// Counts routes taken: a page whose data arrives after the next route began draws nothing
// (an edit saved, then another opened at once, must not be covered by the first's page).
let routed = 0;

async function route() {
  routed++;
  const root = $("#main");
  $("#error").hidden = true;
  if (current) current.close?.();
  state.listeners.clear();
  current = null;
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/";
  let match;
  try {
    if ((match = path.match(/^\/target\/([^/]+)\/edit$/))) {
      current = await renderEditor(root, decodeURIComponent(match[1]));
    } else if ((match = path.match(/^\/target\/([^/]+)$/))) {
      current = await renderTarget(root, decodeURIComponent(match[1]));
    } else if (path === "/new") {
      current = await renderEditor(root, null);
    } else {
      current = renderOverview(root);
    }
  } catch (error) {
    showError(error);
  }
  if (current) state.listeners.add(current);
  if (document.activeElement === document.body || !root.contains(document.activeElement)) {
    const heading = $("h1", root);
    if (heading && path !== "/new" && !path.endsWith("/edit")) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
}

function start() {
  announcer = $("#announcer");
  onTokenNeeded(askToken);
  const forget = $("#forget-token");
  const showForget = () => (forget.hidden = !token());
  forget.addEventListener("click", () => {
    forgetToken();
    showForget();
    announce("Token forgotten");
  });
  window.addEventListener("storage", showForget);
  onTokenStored(showForget);
  showForget();
  window.addEventListener("hashchange", route);
  startLive();
  route();
}

// Exposed for the browser tests and bench/ui.py, which read how fast things render.
window.uptime = { state, fieldFor };

start();
