// The overview: every target with its status, recent checks, uptime and p95, counts that
// filter, and a status filter and name search kept in the URL (#/?status=DOWN&q=shop).

import { $, setTitle, showError } from "./page.js";
import { address, badge, escape, formatMs, percent } from "./format.js";
import { STRIP } from "./queries.js";
import { loadAll, state } from "./state.js";

const STATUSES = ["UP", "DEGRADED", "DOWN", "PENDING", "PAUSED", "UNKNOWN"];

// Writing the same text again still costs a layout: only write what changed.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

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

export function renderOverview(root) {
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
