// The add/edit form as shown: every kind with its options, only the chosen kind's shown, and
// the API's ValidationErrors shown next to the field they name. The browser's own validation
// is off (novalidate): the API decides, so its message is the one shown. Editing fills every
// field from what the API stored; secrets (header values, the body, the URL's password, shown
// as ***) are never shown and never needed to save (input.js reads the form back).

import { escape } from "./format.js";

let serial = 0;

function field(name, label, control, { hint = "", kinds = "" } = {}) {
  const id = `f-${name.replace(/\W/g, "-")}-${serial}`;
  return `<div class="field" data-field="${name}" ${kinds ? `data-kinds="${kinds}"` : ""}>
    <label for="${id}">${label}</label>
    ${control.replace("%ID%", id).replace("%DESC%", `${id}-hint ${id}-error`)}
    ${hint ? `<p class="hint" id="${id}-hint">${hint}</p>` : ""}
    <p class="field-error" id="${id}-error" aria-live="polite"></p>
  </div>`;
}

function text(name, label, value, options = {}) {
  const type = options.type || "text";
  const extra = options.inputmode ? `inputmode="${options.inputmode}"` : "";
  return field(
    name,
    label,
    `<input id="%ID%" name="${name}" type="${type}" ${extra} value="${escape(value)}" aria-describedby="%DESC%" ${options.required ? "required" : ""}>`,
    options,
  );
}

function check(name, label, checked, options = {}) {
  const id = `f-${name.replace(/\W/g, "-")}-${serial}`;
  return `<div class="field check" data-field="${name}" ${options.kinds ? `data-kinds="${options.kinds}"` : ""}>
    <input id="${id}" name="${name}" type="checkbox" ${checked ? "checked" : ""} aria-describedby="${id}-error">
    <label for="${id}">${label}</label>
    <p class="field-error" id="${id}-error" aria-live="polite"></p>
  </div>`;
}

function choice(name, label, value, values, options = {}) {
  return field(
    name,
    label,
    `<select id="%ID%" name="${name}" aria-describedby="%DESC%">${values
      .map(([v, l]) => `<option value="${escape(v)}" ${v === value ? "selected" : ""}>${escape(l)}</option>`)
      .join("")}</select>`,
    options,
  );
}

const IP_FAMILIES = [["any", "Any"], ["ipv4", "IPv4"], ["ipv6", "IPv6"]];

/** The form's HTML, filled from `t` (a target as the Target query reads it) when editing. */
export function renderForm(t) {
  serial++;
  const http = t?.http || {};
  const tcp = t?.tcp || {};
  const icmp = t?.icmp || {};
  const kind = t?.kind || "HTTP";
  const assertion = http.jsonAssertion || {};
  const headerNames = (http.headers || []).map((h) => h.name);
  return `<form class="target-form" novalidate data-kind="${kind}">
    <p class="form-error" role="alert" hidden></p>
    <fieldset><legend>Target</legend>
      ${text("name", "Name", t?.name ?? "", { required: true })}
      <div class="field" data-field="kind"><span class="label" id="kind-label-${serial}">Kind</span>
        <div class="segmented" role="radiogroup" aria-labelledby="kind-label-${serial}">
          ${["HTTP", "TCP", "ICMP"]
            .map(
              (k) => `<label><input type="radio" name="kind" value="${k}" ${k === kind ? "checked" : ""}> ${k}</label>`,
            )
            .join("")}
        </div>
        <p class="field-error" aria-live="polite"></p>
      </div>
      ${text("url", "URL", t?.url ?? "", {
        kinds: "HTTP",
        type: "url",
        hint: t?.url?.includes(":***@")
          ? "http:// or https:// (the password is not shown, only ***: leave it to keep it)"
          : "http:// or https://",
      })}
      ${text("host", "Host", t?.host ?? "", { kinds: "TCP ICMP", hint: "A name or an IP address" })}
      ${text("port", "Port", t?.port ?? "", { kinds: "TCP", inputmode: "numeric" })}
    </fieldset>
    <fieldset><legend>Schedule</legend>
      <div class="row">
        ${text("intervalSeconds", "Interval (s)", t?.intervalSeconds ?? 60, { inputmode: "numeric" })}
        ${text("timeoutSeconds", "Timeout (s)", t?.timeoutSeconds ?? 10, { inputmode: "decimal" })}
        ${text("failureThreshold", "Down after failures", t?.failureThreshold ?? 2, { inputmode: "numeric" })}
        ${text("recoveryThreshold", "Up after passes", t?.recoveryThreshold ?? 2, { inputmode: "numeric" })}
        ${text("retryIntervalSeconds", "Retry interval (s)", t?.retryIntervalSeconds ?? "", { inputmode: "numeric", hint: "How soon the checks that confirm a change come; empty: the smaller of the interval and 10" })}
      </div>
      ${check("public", "Public badges (/badge/KEY/status.svg, uptime, latency: served without a token)", t?.public ?? false)}
    </fieldset>
    <fieldset data-kinds="HTTP"><legend>HTTP options</legend>
      <div class="row">
        ${choice("http.method", "Method", http.method || "GET", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map((m) => [m, m]))}
        ${text("http.acceptedStatusCodes", "Accepted status codes", (http.acceptedStatusCodes || ["200-299"]).join(", "), { hint: "e.g. 200-299, 301" })}
        ${choice("http.ipFamily", "IP family", http.ipFamily || "any", IP_FAMILIES)}
      </div>
      ${field(
        "http.headers",
        "Request headers",
        `<textarea id="%ID%" name="http.headers" rows="3" aria-describedby="%DESC%" placeholder="Name: value"></textarea>`,
        {
          hint: headerNames.length
            ? `One “Name: value” per line. Current: ${escape(headerNames.join(", "))} (values are never shown); leave empty to keep them, or type them all to replace them.`
            : "One “Name: value” per line.",
        },
      )}
      ${headerNames.length ? check("http.removeHeaders", "Remove every header", false) : ""}
      ${field("http.body", "Request body", `<textarea id="%ID%" name="http.body" rows="2" aria-describedby="%DESC%"></textarea>`, {
        hint: http.hasBody ? "A body is set (not shown); leave empty to keep it." : "",
      })}
      ${http.hasBody ? check("http.removeBody", "Remove the body", false) : ""}
      <div class="row">
        ${text("http.keyword", "Keyword", http.keyword ?? "", { hint: "Text the body must contain" })}
        ${check("http.keywordAbsent", "Fail when the keyword is present", http.keywordAbsent)}
      </div>
      <div class="row">
        ${text("http.jsonAssertion.path", "JSON path", assertion.path ?? "", { hint: "e.g. $.status" })}
        ${choice("http.jsonAssertion.operator", "Operator", assertion.operator || "==", ["==", "!=", ">", ">=", "<", "<=", "contains", "exists"].map((o) => [o, o]))}
        ${text("http.jsonAssertion.value", "Value (JSON)", assertion.value === undefined || assertion.value === null ? "" : JSON.stringify(assertion.value), { hint: "e.g. \"ok\" or 3" })}
      </div>
      <div class="row">
        ${check("http.followRedirects", "Follow redirects", http.followRedirects ?? true)}
        ${text("http.maxRedirects", "Max redirects", http.maxRedirects ?? 10, { inputmode: "numeric" })}
        ${check("http.verifyTls", "Verify TLS certificates", http.verifyTls ?? true)}
      </div>
      <div class="row">
        ${text("http.degradedLatencyMs", "Degraded above (ms)", http.degradedLatencyMs ?? "", { inputmode: "decimal" })}
        ${text("http.certExpiryDays", "Warn when the certificate expires within (days)", http.certExpiryDays ?? "", { inputmode: "numeric" })}
      </div>
    </fieldset>
    <fieldset data-kinds="TCP"><legend>TCP options</legend>
      ${check("tcp.tls", "TLS handshake after connecting", tcp.tls ?? false)}
      <div class="row">
        ${check("tcp.verifyTls", "Verify TLS certificates", tcp.verifyTls ?? true)}
        ${text("tcp.certExpiryDays", "Warn when the certificate expires within (days)", tcp.certExpiryDays ?? "", { inputmode: "numeric", hint: "Needs TLS" })}
      </div>
      <div class="row">
        ${text("tcp.degradedLatencyMs", "Degraded above (ms)", tcp.degradedLatencyMs ?? "", { inputmode: "decimal" })}
        ${choice("tcp.ipFamily", "IP family", tcp.ipFamily || "any", IP_FAMILIES)}
      </div>
    </fieldset>
    <fieldset data-kinds="ICMP"><legend>ICMP options</legend>
      <div class="row">
        ${text("icmp.degradedLatencyMs", "Degraded above (ms)", icmp.degradedLatencyMs ?? "", { inputmode: "decimal" })}
        ${choice("icmp.ipFamily", "IP family", icmp.ipFamily || "any", IP_FAMILIES)}
      </div>
    </fieldset>
    <div class="form-actions">
      <button type="submit" class="primary">${t ? "Save" : "Add target"}</button>
      <a class="button" href="${t ? `#/target/${encodeURIComponent(t.id)}` : "#/"}">Cancel</a>
    </div>
  </form>`;
}

export function kindOf(form) {
  return form.querySelector("input[name=kind]:checked")?.value || "HTTP";
}

// Show only what the chosen kind uses.
document.addEventListener("change", (event) => {
  const form = event.target.closest?.("form.target-form");
  if (form && event.target.name === "kind") showKind(form);
});

export function showKind(form) {
  const kind = kindOf(form);
  form.dataset.kind = kind;
  form.querySelectorAll("[data-kinds]").forEach((el) => {
    el.hidden = !el.dataset.kinds.split(" ").includes(kind);
  });
}

const observer = new MutationObserver(() => {
  document.querySelectorAll("form.target-form:not([data-ready])").forEach((form) => {
    form.dataset.ready = "1";
    showKind(form);
  });
});
observer.observe(document.documentElement, { childList: true, subtree: true });

/** The element of `form` showing errors for the API's `field` (e.g. `port`,
 * `options.jsonAssertion.operator`, `options.headers[0]`). */
export function fieldFor(form, name) {
  const kind = kindOf(form).toLowerCase();
  let path = String(name || "")
    .replace(/^options\./, `${kind}.`)
    .replace(/\[\d+\]/g, "");
  while (path) {
    const exact = form.querySelector(`.field[data-field="${CSS.escape(path)}"]`);
    if (exact && !exact.closest("[hidden]")) return exact;
    const inside = [...form.querySelectorAll(".field[data-field]")].find(
      (f) => f.dataset.field.startsWith(`${path}.`) && !f.closest("[hidden]"),
    );
    if (inside) return inside;
    path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
  }
  return null;
}

/** Put each problem next to its field; the rest (and a summary) at the top. */
export function showProblems(form, error) {
  form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const problems = error.problems.length ? error.problems : [{ field: error.field, message: error.message }];
  const loose = [];
  let first = null;
  for (const problem of problems) {
    const holder = fieldFor(form, problem.field);
    if (!holder) {
      loose.push(problem.field ? `${problem.field}: ${problem.message}` : problem.message);
      continue;
    }
    const out = holder.querySelector(".field-error");
    out.textContent = out.textContent ? `${out.textContent}; ${problem.message}` : problem.message;
    const control = holder.querySelector("input, select, textarea");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      first = first || control;
    }
  }
  const summary = form.querySelector(".form-error");
  const count = problems.length;
  summary.textContent =
    (loose.length ? loose.join("; ") : `${count === 1 ? "One field needs" : `${count} fields need`} attention.`);
  summary.hidden = false;
  (first || summary).focus?.();
}
