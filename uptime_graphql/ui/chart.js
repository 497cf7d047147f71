// The latency chart: p50 and p95 per time bucket as two lines (gaps where there is no data),
// failures as marks along the bottom. Hand-written SVG, sized to its container.

import { formatMs } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";

function el(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Round numbers for an axis from 0 to at least `max`. */
function ticks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const values = [];
  for (let v = 0; v <= max + step * 0.001; v += step) values.push(v);
  if (values[values.length - 1] < max) values.push(values[values.length - 1] + step);
  return values;
}

function timeLabel(date, spanMs) {
  if (spanMs > 2 * 86400e3) return date.toLocaleDateString([], { month: "short", day: "numeric" });
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function linePath(points, x, y, key) {
  let d = "";
  let drawing = false;
  points.forEach((p, i) => {
    const value = p[key];
    if (value === null || value === undefined) {
      drawing = false;
      return;
    }
    d += `${drawing ? "L" : "M"}${x(i).toFixed(1)},${y(value).toFixed(1)}`;
    drawing = true;
  });
  return d;
}

/** Draw `points` into `container` (replacing what was there). */
export function drawLatencyChart(container, points, { height = 220 } = {}) {
  const width = Math.max(280, container.clientWidth || 600);
  const margin = { top: 12, right: 12, bottom: 28, left: 52 };
  const inner = { w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
  const measured = points.filter((p) => p.p95Ms !== null);
  const max = Math.max(0, ...measured.map((p) => p.p95Ms));
  const yTicks = ticks(max);
  const top = yTicks[yTicks.length - 1];
  const n = Math.max(points.length, 2);
  const x = (i) => margin.left + (inner.w * (i + 0.5)) / n;
  const y = (v) => margin.top + inner.h - (inner.h * v) / top;

  const p95s = measured.map((p) => p.p95Ms).sort((a, b) => a - b);
  const failures = points.reduce((sum, p) => sum + p.failures, 0);
  const checks = points.reduce((sum, p) => sum + p.checks, 0);
  const summary = measured.length
    ? `Latency chart: ${checks} checks, ${failures} failed; p95 from ${formatMs(p95s[0])} to ${formatMs(p95s[p95s.length - 1])}.`
    : "Latency chart: no checks in this window.";
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    height,
    role: "img",
    "aria-label": summary,
    class: "chart",
  });
  svg.append(el("title", {}, summary));

  for (const v of yTicks) {
    svg.append(el("line", { x1: margin.left, x2: width - margin.right, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(el("text", { x: margin.left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, formatMs(v)));
  }
  if (points.length) {
    const first = new Date(points[0].start);
    const last = new Date(points[points.length - 1].start);
    const span = last - first;
    const labels = Math.min(5, points.length);
    for (let k = 0; k < labels; k++) {
      const i = Math.round((k * (points.length - 1)) / Math.max(1, labels - 1));
      const anchor = k === 0 ? "start" : k === labels - 1 ? "end" : "middle";
      svg.append(
        el("text", { x: x(i), y: height - 8, class: "axis", "text-anchor": anchor },
           timeLabel(new Date(points[i].start), span)),
      );
    }
  }
  const barWidth = Math.max(1, inner.w / n - 1);
  points.forEach((p, i) => {
    if (p.failures > 0) {
      const share = p.failures / p.checks;
      const h = Math.max(3, 18 * share);
      svg.append(el("rect", {
        x: x(i) - barWidth / 2, y: margin.top + inner.h - h, width: barWidth, height: h,
        class: "fail",
      }, undefined));
    }
  });
  svg.append(el("path", { d: linePath(points, x, y, "p95Ms"), class: "line p95" }));
  svg.append(el("path", { d: linePath(points, x, y, "p50Ms"), class: "line p50" }));
  // Lone points (a bucket between gaps) would be invisible as lines.
  points.forEach((p, i) => {
    const lone = p.p95Ms !== null && (points[i - 1]?.p95Ms ?? null) === null && (points[i + 1]?.p95Ms ?? null) === null;
    if (lone) {
      svg.append(el("circle", { cx: x(i), cy: y(p.p95Ms), r: 2.5, class: "dot p95" }));
      svg.append(el("circle", { cx: x(i), cy: y(p.p50Ms), r: 2.5, class: "dot p50" }));
    }
  });
  container.replaceChildren(svg);
}
