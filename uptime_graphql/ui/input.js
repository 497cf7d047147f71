// The add/edit form read back: a CreateTargetInput, or for an edit an UpdateTargetInput that
// names only the fields the person changed (`changedOnly`): a save without changes names
// nothing, so it changes nothing. Secrets left empty are not sent, so they are kept.

import { kindOf } from "./form.js";

function value(form, name) {
  const el = form.elements[name];
  if (!el) return undefined;
  if (el.type === "checkbox") return el.checked;
  return el.value.trim();
}

// Numbers as typed. GraphQL itself refuses a word where a number goes (with a message that
// names no input field), so those are caught here and shown by their field.
let local = [];
const WHOLE = new Set([
  "port", "intervalSeconds", "failureThreshold", "recoveryThreshold", "retryIntervalSeconds",
  "http.maxRedirects",
  "http.certExpiryDays", "tcp.certExpiryDays",
]);

function number(form, name) {
  const raw = value(form, name);
  if (raw === "" || raw === undefined) return null;
  const parsed = Number(raw);
  if (!Number.isFinite(parsed) || (WHOLE.has(name) && !Number.isInteger(parsed))) {
    local.push({ field: name, message: WHOLE.has(name) ? "must be a whole number" : "must be a number" });
    return null;
  }
  return parsed;
}

function headers(raw) {
  return raw
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const at = line.indexOf(":");
      return at < 0 ? { name: line, value: "" } : { name: line.slice(0, at).trim(), value: line.slice(at + 1).trim() };
    });
}

/** The form as a CreateTargetInput, or (editing `existing`) an UpdateTargetInput, and the
 * problems found before asking the API (numbers that are not numbers). */
export function formInput(form, existing) {
  local = [];
  const kind = kindOf(form);
  const input = {
    name: value(form, "name"),
    kind,
    intervalSeconds: number(form, "intervalSeconds"),
    timeoutSeconds: number(form, "timeoutSeconds"),
    failureThreshold: number(form, "failureThreshold"),
    recoveryThreshold: number(form, "recoveryThreshold"),
    retryIntervalSeconds: number(form, "retryIntervalSeconds"),  // empty: null, the default
    public: value(form, "public"),
  };
  if (kind === "HTTP") {
    input.url = value(form, "url");
    const http = {
      method: value(form, "http.method"),
      acceptedStatusCodes: value(form, "http.acceptedStatusCodes")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      followRedirects: value(form, "http.followRedirects"),
      maxRedirects: number(form, "http.maxRedirects"),
      verifyTls: value(form, "http.verifyTls"),
      keyword: value(form, "http.keyword") || null,
      keywordAbsent: value(form, "http.keywordAbsent"),
      degradedLatencyMs: number(form, "http.degradedLatencyMs"),
      certExpiryDays: number(form, "http.certExpiryDays"),
      ipFamily: value(form, "http.ipFamily"),
    };
    // Write-only: sent when typed (or removed), never read back into the form.
    const headerText = value(form, "http.headers");
    if (headerText || !existing) http.headers = headers(headerText);
    else if (value(form, "http.removeHeaders")) http.headers = [];
    const body = form.elements["http.body"].value;
    if (body || !existing) http.body = body || null;
    else if (value(form, "http.removeBody")) http.body = null;
    const path = value(form, "http.jsonAssertion.path");
    if (path) {
      const raw = value(form, "http.jsonAssertion.value");
      let parsed = null;
      if (raw) {
        try {
          parsed = JSON.parse(raw);
        } catch {
          parsed = raw; // a bare word is meant as a string
        }
      }
      http.jsonAssertion = { path, operator: value(form, "http.jsonAssertion.operator"), value: parsed };
    } else {
      http.jsonAssertion = null;
    }
    input.http = http;
  } else {
    input.host = value(form, "host");
    if (kind === "TCP") {
      input.port = number(form, "port");
      input.tcp = {
        tls: value(form, "tcp.tls"),
        verifyTls: value(form, "tcp.verifyTls"),
        certExpiryDays: number(form, "tcp.certExpiryDays"),
        degradedLatencyMs: number(form, "tcp.degradedLatencyMs"),
        ipFamily: value(form, "tcp.ipFamily"),
      };
    } else {
      input.icmp = {
        degradedLatencyMs: number(form, "icmp.degradedLatencyMs"),
        ipFamily: value(form, "icmp.ipFamily"),
      };
    }
  }
  if (existing) input.id = existing.id;
  return { input, problems: local };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** An UpdateTargetInput naming only what differs between `initial` (what `formInput` gave
 * for the untouched form) and `input` (what it gives now): an unchanged field is not sent,
 * so it cannot change, whatever its form field shows (1.0 shown as 1, say). Options are
 * compared one by one; a new kind sends everything (its options start afresh). */
export function changedOnly(initial, input) {
  if (input.kind !== initial.kind) return input;
  const changed = { id: input.id };
  for (const [key, now] of Object.entries(input)) {
    if (key === "id" || same(now, initial[key])) continue;
    if (isObject(now) && isObject(initial[key])) {
      const inner = Object.fromEntries(Object.entries(now).filter(([k, v]) => !same(v, initial[key][k])));
      if (Object.keys(inner).length) changed[key] = inner;
    } else {
      changed[key] = now;
    }
  }
  return changed;
}
