// The page around the views (index.html's fixed parts): the title, the screen-reader
// announcer, the error banner and the two dialogs.

import { Forbidden, Unauthenticated } from "./graphql.js";

export const $ = (selector, root = document) => root.querySelector(selector);

let announcer;
export function announce(text) {
  announcer ??= $("#announcer");
  announcer.textContent = text;
}

export function setTitle(text) {
  document.title = text ? `${text} · uptime` : "uptime";
}

export function showError(error) {
  const box = $("#error");
  if (error instanceof Unauthenticated) box.textContent = "A token is required to use this server.";
  else if (error instanceof Forbidden)
    box.textContent = `Not allowed with this token: ${error.message}. Use a token with that scope (uptime tokens create).`;
  else box.textContent = String(error.message || error);
  box.hidden = false;
}

/** Say, in the header, what the token in use cannot do (a read token: look, not change). */
export function showScope(scope) {
  const note = $("#token-scope");
  note.hidden = scope !== "READ";
  note.textContent = "Read-only token: you can look but not change (targets, channels, windows)";
}

// A refresh the page started by itself failed (the API restarting, say): the figures stay as
// they were, and the reconnection reads everything again. A warning, not an error.
export function backgroundFailed(error) {
  console.warn("uptime: a background refresh failed:", error);
}

export function confirmDialog(text, action) {
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

export function askToken(rejected) {
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
