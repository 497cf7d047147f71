// Formatting for the page: the one HTML-escaping helper every module uses, and how figures,
// times, addresses and statuses are written.

/** `text` made safe inside HTML text and quoted attributes. */
export function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined) return "–";
  const value = ratio * 100;
  return `${value === 100 ? "100" : value >= 99.995 ? "99.99" : value.toFixed(2)} %`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10000 ? 0 : 1)} s`;
  return `${ms >= 100 || Number.isInteger(ms) ? Math.round(ms) : ms.toFixed(1)} ms`;
}

export function address(t) {
  if (t.kind === "HTTP") return t.url;
  return t.port ? `${t.host}:${t.port}` : t.host;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function badge(status) {
  return `<span class="badge s-${status.toLowerCase()}">${status}</span>`;
}
