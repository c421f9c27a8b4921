/**
 * Building the page. IMPORTANT: every string from the server is user input (names, emails, audit
 * details): it goes into the page as a text node or an attribute value, never as markup. Nothing in
 * the dashboard assigns innerHTML.
 */

/**
 * Creates an element. `props`: `class`, `dataset`, `on<event>` handlers, DOM properties given as
 * non-strings (`disabled: true`), anything else as an attribute. Children: nodes, or strings and
 * numbers (as text); null, undefined and false are skipped; arrays are flattened.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (typeof value !== "string" && key in el) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children to `el` the way `h` does. */
export function append(el, children) {
  for (const child of [children].flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** An absolute date and time, or "—". */
export function formatDate(iso) {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

/** "3 minutes ago" / "in 2 days", or "never". */
export function formatAgo(iso, never = "never") {
  if (!iso) return never;
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return relative.format(Math.round(seconds / size), unit);
    }
  }
  return never;
}

/** A `<time>` showing a relative time, with the absolute one on hover; `refreshTimes` ages it. */
export function timeAgo(iso, never) {
  if (!iso) return h("span", { class: "muted" }, never ?? "never");
  return h("time", { class: "ago", datetime: iso, title: formatDate(iso) }, formatAgo(iso, never));
}

/** Recomputes the text of every `timeAgo` under `root`, so "5 seconds ago" does not stay that. */
export function refreshTimes(root) {
  for (const el of root.querySelectorAll("time.ago")) {
    const text = formatAgo(el.getAttribute("datetime"));
    if (el.textContent !== text) el.textContent = text;
  }
}

/** A `<time>` showing an absolute date and time. */
export function timeAt(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso }, formatDate(iso));
}

/** Duration between two instants, "1.2 s" / "3 min". */
export function formatDuration(fromIso, toIso) {
  if (!fromIso) return "—";
  const ms = (toIso ? new Date(toIso) : new Date()).getTime() - new Date(fromIso).getTime();
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

const TONES = {
  ok: "good",
  "in sync": "good",
  drift: "warn",
  online: "good",
  degraded: "warn",
  completed: "good",
  usable: "good",
  enabled: "good",
  active: "good",
  delivered: "good",
  running: "info",
  pending: "info",
  offline: "bad",
  cancelled: "warn",
  expired: "warn",
  "used up": "warn",
  disabled: "muted",
  revoked: "muted",
  failed: "bad",
  unavailable: "bad",
};

/** A status badge; its colour follows its word, and the word itself is always shown. */
export function badge(text) {
  const tone = TONES[String(text).toLowerCase()] ?? "muted";
  return h("span", { class: `badge badge-${tone}` }, text);
}

/**
 * Names each cell of `tr` after its column (`data-label`, shown beside the value when a narrow screen
 * lays rows out as cards) and keeps the table's roles, which CSS `display` changes would drop.
 * Cells spanning columns (details, "nothing here") get no label. Returns `tr`.
 */
export function labelRow(tr, columns) {
  tr.setAttribute("role", "row");
  [...tr.children].forEach((td, i) => {
    td.setAttribute("role", "cell");
    if (td.colSpan === 1 && columns[i]) td.dataset.label = columns[i];
  });
  return tr;
}

/**
 * A table inside a scrollable region; `rows` are arrays of cells (nodes or text), or `<tr>`s. Below
 * 640 px wide each row shows as a card of labelled values.
 */
export function table({ caption, columns, rows, empty = "Nothing here yet." }) {
  const body = h("tbody", { role: "rowgroup" });
  if (rows.length === 0) {
    body.append(h("tr", null, h("td", { colSpan: columns.length, class: "empty" }, empty)));
  }
  for (const row of rows) {
    const tr =
      row instanceof Node
        ? row
        : h(
            "tr",
            null,
            row.map((cell) => h("td", null, cell)),
          );
    body.append(tr);
  }
  for (const tr of body.children) labelRow(tr, columns);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { role: "table" },
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h(
        "thead",
        { role: "rowgroup" },
        h(
          "tr",
          { role: "row" },
          columns.map((c) =>
            h(
              "th",
              { scope: "col", role: "columnheader" },
              c === "" ? h("span", { class: "visually-hidden" }, "Actions") : c,
            ),
          ),
        ),
      ),
      body,
    ),
  );
}

/** "Previous / Showing a–b of n / Next". `onPage(offset)` is called with the new offset. */
export function pager({ total, limit, offset, onPage, label = "Pages" }) {
  if (total <= limit && offset === 0) return null;
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return h(
    "nav",
    { class: "pager", "aria-label": label },
    h(
      "button",
      {
        type: "button",
        class: "button-quiet",
        disabled: offset <= 0,
        onclick: () => onPage(Math.max(0, offset - limit)),
      },
      "← Previous",
    ),
    h("span", null, `Showing ${first}–${last} of ${total}`),
    h(
      "button",
      {
        type: "button",
        class: "button-quiet",
        disabled: offset + limit >= total,
        onclick: () => onPage(offset + limit),
      },
      "Next →",
    ),
  );
}

let flashTimer;

/** A short message in the page's live region (read out by screen readers). */
export function flash(message, tone = "good") {
  const region = document.getElementById("flash");
  clearTimeout(flashTimer);
  replace(region, h("p", { class: `flash-${tone}` }, message));
  flashTimer = setTimeout(() => region.replaceChildren(), 6000);
}

/** An error box for a failed request: the API's problem `detail`, as text. */
export function errorBox(err) {
  return h("div", { class: "error-box", role: "alert" }, err?.detail ?? err?.message ?? String(err));
}

/**
 * A modal confirmation (native `<dialog>`: focus stays inside, Escape cancels). Resolves true when
 * confirmed.
 */
export function confirmDialog({ title, message, confirmLabel = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": titleId },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: titleId }, title),
        h("p", null, message),
        h(
          "div",
          { class: "actions" },
          h("button", { value: "cancel", class: "button-quiet", autofocus: true }, "Cancel"),
          h("button", { value: "confirm", class: danger ? "button-danger" : "button-primary" }, confirmLabel),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Copies text to the clipboard and says so. */
export async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    flash(`${what} copied to the clipboard.`);
  } catch {
    flash(`Could not copy the ${what.toLowerCase()}: select it and copy it by hand.`, "bad");
  }
}

/** Offers `text` as a file download. */
export function download(text, filename, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * A labelled form field. `hint` and the error slot are tied to the input with aria-describedby; the
 * error slot is filled by `showFieldErrors`.
 */
export function field({ label, name, type = "text", required = false, hint, ...rest }) {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = `${id}-error`;
  const control =
    type === "select"
      ? h(
          "select",
          { id, name, required, "aria-describedby": [hintId, errorId].filter(Boolean).join(" ") },
          (rest.options ?? []).map(([value, text]) =>
            h("option", { value, selected: value === rest.value }, text),
          ),
        )
      : h("input", {
          id,
          name,
          type,
          required,
          "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
          ...rest,
        });
  if (type === "checkbox") {
    return h(
      "div",
      { class: "field field-check" },
      control,
      h("label", { for: id }, label),
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      h("p", { class: "field-error", id: errorId }),
    );
  }
  return h(
    "div",
    { class: "field" },
    h(
      "label",
      { for: id },
      label,
      required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null,
    ),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    h("p", { class: "field-error", id: errorId }),
  );
}

/**
 * Shows a failed submit on its form: the problem's `detail` in the form's alert, and each validation
 * issue next to the field it names (issue paths such as `cidr4` or `dns.0`). Returns nothing.
 */
export function showFieldErrors(form, err) {
  clearFieldErrors(form);
  const alert = form.querySelector(".form-error");
  if (alert) replace(alert, err?.detail ?? err?.message ?? String(err));
  let focused = false;
  for (const issue of err?.issues ?? []) {
    const name = String(issue.path ?? "").split(".")[0];
    const control = name ? form.elements.namedItem(name) : null;
    if (!(control instanceof HTMLElement)) continue;
    control.setAttribute("aria-invalid", "true");
    const slot = control.closest(".field")?.querySelector(".field-error");
    if (slot) append(slot, [slot.textContent ? " " : null, issue.message]);
    if (!focused) {
      control.focus();
      focused = true;
    }
  }
}

/** Clears what `showFieldErrors` showed. */
export function clearFieldErrors(form) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error, .form-error")) el.replaceChildren();
}

/**
 * Wires a form: on submit, disables its button, calls `action(form)`, and shows a failure with
 * `showFieldErrors`. An error that ended the session is left to the sign-in page.
 */
export function onSubmit(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    clearFieldErrors(form);
    try {
      await action(form);
    } catch (err) {
      if (!err?.endedSession) showFieldErrors(form, err);
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

/**
 * The items of a list typed in one text box (DNS servers, search domains): split at commas and
 * whitespace, empty items dropped.
 */
export function splitList(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** A view's heading, focused after navigation so keyboard and screen-reader users land on it. */
export function heading(text, ...extra) {
  return h("div", { class: "view-head" }, h("h1", { tabIndex: -1 }, text), extra);
}

/**
 * The frame of a list page: its heading, a slot for errors, a slot for a one-time panel (a secret
 * shown once), the list, and what follows it (a create form). `load()` reads the list and
 * `render(list)` turns it into nodes (a `table`). Renders the page into `main` and returns
 * `{ refresh, showProblem, showOnce }`: `refresh()` reads and renders the list again (errors go to the
 * error slot), `showOnce(panel)` puts a panel on top and focuses it.
 */
export async function listPage({ main, title, headExtra, load, render, before = [], after = [], signal }) {
  const problem = h("div");
  const once = h("div");
  const listSlot = h("div");
  const showProblem = (err) => {
    if (err?.name !== "AbortError" && !err?.endedSession) replace(problem, errorBox(err));
  };
  const show = (list) => replace(listSlot, render(list));
  const first = await load();
  if (signal.aborted) return { refresh: async () => {}, showProblem, showOnce: () => {} };
  show(first);
  replace(main, heading(title, headExtra), problem, once, before, listSlot, after);
  return {
    async refresh() {
      try {
        const latest = await load();
        if (!signal.aborted) {
          problem.replaceChildren();
          show(latest);
        }
      } catch (err) {
        showProblem(err);
      }
    },
    showProblem,
    showOnce(panel) {
      replace(once, panel);
      panel.focus();
    },
  };
}

/**
 * A panel showing a secret once (a key, a password), with a copy button and Done (which removes the
 * panel). `label` names the text box; `note` says what to do with it.
 */
export function secretPanel({ id, title, note, label, value, copyLabel, what }) {
  const panel = h(
    "section",
    { class: "panel once", "aria-labelledby": `${id}-title`, tabIndex: -1 },
    h("h2", { id: `${id}-title` }, title),
    h("p", { class: "notice" }, note),
    h(
      "div",
      { class: "inline" },
      h("label", { for: `${id}-value`, class: "visually-hidden" }, label),
      h("input", { id: `${id}-value`, class: "mono", readOnly: true, value, spellcheck: "false" }),
      h("button", { type: "button", class: "button-quiet", onclick: () => copyText(value, what) }, copyLabel),
      h("button", { type: "button", onclick: () => panel.remove() }, "Done"),
    ),
  );
  return panel;
}

/** A small button for a table row; `label` is its accessible name, `text` what it shows. */
export function rowButton(text, label, onclick, { danger = false } = {}) {
  return h(
    "button",
    { type: "button", class: danger ? "button-danger-quiet" : "button-quiet", "aria-label": label, onclick },
    text,
  );
}
