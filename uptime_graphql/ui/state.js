// The live state: every target's overview row, read a page at a time and kept current by the
// two subscriptions; the open view hears of changes through its listener (`state.listeners`).

import { Live, request } from "./graphql.js";
import { $, announce, backgroundFailed } from "./page.js";
import { CHECKS_COMPLETED, ONE_ROW, OVERVIEW, STATUS_CHANGED, STRIP } from "./queries.js";

// Uptime figures on the overview are read again after checks arrived, at most this often.
const STATS_REFRESH_MS = 60_000;

export const state = {
  targets: new Map(), // id -> target (ONE_ROW's fields, with .strip: statuses oldest first)
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
export async function loadAll(onPage = null) {
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

export async function reloadRow(id) {
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

export function startLive() {
  live.subscribe(CHECKS_COMPLETED, {}, (data) => {
    for (const check of data.checksCompleted) onCheck(check);
  });
  live.subscribe(STATUS_CHANGED, {}, (data) => onStatusChange(data.targetStatusChanged));
}
