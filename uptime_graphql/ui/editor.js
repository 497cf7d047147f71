// The add and edit pages: the form (form.js) filled from the target when editing, sent as a
// create or, naming only what changed, an update; the API's problems shown by their fields.

import { escape } from "./format.js";
import { renderForm, showProblems } from "./form.js";
import { request } from "./graphql.js";
import { changedOnly, formInput } from "./input.js";
import { $, announce, setTitle, showError } from "./page.js";
import { CREATE, TARGET, UPDATE } from "./queries.js";
import { reloadRow } from "./state.js";

export async function renderEditor(root, id, stale) {
  let existing = null;
  if (id) {
    const data = await request(TARGET, { id, window: "LAST_HOUR" });
    if (stale()) return null; // another route was taken meanwhile
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
    const mutation = existing ? UPDATE : CREATE;
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
