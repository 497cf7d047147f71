// The dashboard: an overview of every target kept live by subscriptions, a page per target,
// and the add/edit form. This module starts it and routes; the routes live in the URL's hash:
// #/ (overview.js), #/new and #/target/<id>/edit (editor.js), #/target/<id> (target.js).

import { renderEditor } from "./editor.js";
import { fieldFor } from "./form.js";
import { forgetToken, onTokenNeeded, onTokenStored, request, token } from "./graphql.js";
import { renderOverview } from "./overview.js";
import { $, announce, askToken, showError, showScope } from "./page.js";
import { startLive, state } from "./state.js";
import { renderTarget } from "./target.js";

// -- routing ---------------------------------------------------------------------------------

let current = null;
// Counts routes taken: a page whose data arrives after the next route began draws nothing
// (an edit saved, then another opened at once, must not be covered by the first's page).
let routed = 0;

async function route() {
  const taken = ++routed;
  const stale = () => taken !== routed;
  const root = $("#main");
  $("#error").hidden = true;
  if (current) current.close?.();
  state.listeners.clear();
  current = null;
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/";
  let match;
  try {
    if ((match = path.match(/^\/target\/([^/]+)\/edit$/))) {
      current = await renderEditor(root, decodeURIComponent(match[1]), stale);
    } else if ((match = path.match(/^\/target\/([^/]+)$/))) {
      current = await renderTarget(root, decodeURIComponent(match[1]), stale);
    } else if (path === "/new") {
      current = await renderEditor(root, null, stale);
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

// What the token in use may do: a read token is told, in the header, that it cannot change.
function readScope() {
  request("{ tokenScope }").then(
    (data) => showScope(data.tokenScope),
    () => showScope(null),
  );
}

function start() {
  onTokenNeeded(askToken);
  const forget = $("#forget-token");
  const showForget = () => (forget.hidden = !token());
  forget.addEventListener("click", () => {
    forgetToken();
    showForget();
    showScope(null);
    announce("Token forgotten");
  });
  window.addEventListener("storage", showForget);
  onTokenStored(() => {
    showForget();
    readScope();
  });
  showForget();
  readScope();
  window.addEventListener("hashchange", route);
  startLive();
  route();
}

// Exposed for the browser tests and bench/ui.py, which read how fast things render.
window.uptime = { state, fieldFor };

start();
