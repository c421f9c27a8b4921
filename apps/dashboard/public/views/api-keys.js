/** API keys (admins only): the list, create (the key is shown once), revoke after asking. */
import { api } from "../api.js";
import {
  badge,
  confirmDialog,
  copyText,
  errorBox,
  field,
  flash,
  h,
  heading,
  onSubmit,
  replace,
  table,
  timeAgo,
} from "../dom.js";

const SCOPES = {
  read: ["read"],
  admin: ["admin", "read"],
};

function statusOf(key) {
  if (key.revokedAt) return "revoked";
  if (key.expiresAt && new Date(key.expiresAt).getTime() <= Date.now()) return "expired";
  return "active";
}

function keyForm(onCreated) {
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "new-api-key-title" },
    h("h2", { id: "new-api-key-title" }, "New API key"),
    field({ label: "Name", name: "name", required: true, maxLength: 100, placeholder: "backup script" }),
    field({
      label: "Access",
      name: "access",
      type: "select",
      options: [
        ["read", "Read only"],
        ["admin", "Admin (read and change everything)"],
      ],
      value: "read",
    }),
    field({
      label: "Expires at",
      name: "expiresAt",
      type: "datetime-local",
      hint: "Optional; your local time. Empty: until revoked.",
    }),
    h("p", { class: "form-error", role: "alert" }),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "button-primary" }, "Create API key"),
    ),
  );
  return onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name);
    const body = { name: el("name").value.trim(), scopes: SCOPES[el("access").value] };
    if (el("expiresAt").value) body.expiresAt = new Date(el("expiresAt").value).toISOString();
    const created = await api("/api/admin/api-keys", { method: "POST", body });
    form.reset();
    onCreated(created);
  });
}

function createdPanel(key) {
  const panel = h(
    "section",
    { class: "panel once", "aria-labelledby": "new-api-key-shown", tabIndex: -1 },
    h("h2", { id: "new-api-key-shown" }, `API key ${key.name}`),
    h(
      "p",
      { class: "notice" },
      "Copy this key now: it is shown only once. Send it as the X-API-Key header, or sign in here with it.",
    ),
    h(
      "div",
      { class: "inline" },
      h("label", { for: "new-api-key-value", class: "visually-hidden" }, "API key"),
      h("input", {
        id: "new-api-key-value",
        class: "mono",
        readOnly: true,
        value: key.key,
        spellcheck: "false",
      }),
      h(
        "button",
        { type: "button", class: "button-quiet", onclick: () => copyText(key.key, "Key") },
        "Copy key",
      ),
      h("button", { type: "button", onclick: () => panel.remove() }, "Done"),
    ),
  );
  return panel;
}

export async function renderApiKeys({ main, signal }) {
  const keys = await api("/api/admin/api-keys", { signal });
  if (signal.aborted) return;
  const problem = h("div");
  const once = h("div");
  const listSlot = h("div");
  const showProblem = (err) => replace(problem, errorBox(err));

  const refreshList = async () => {
    const latest = await api("/api/admin/api-keys", { signal });
    if (!signal.aborted) renderList(latest);
  };

  async function revoke(key) {
    const sure = await confirmDialog({
      title: `Revoke ${key.name}?`,
      message: "It stops working at once, for every script and session that uses it. This cannot be undone.",
      confirmLabel: "Revoke API key",
      danger: true,
    });
    if (!sure) return;
    await api(`/api/admin/api-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
    flash(`API key ${key.name} revoked.`);
    await refreshList();
  }

  function renderList(list) {
    replace(
      listSlot,
      table({
        caption: "API keys",
        columns: ["Name", "Key", "Access", "Last used", "Expires", "Status", "Created", ""],
        empty: "No API keys yet. Create the first one below.",
        rows: list.map((key) => [
          key.name,
          h("code", null, `${key.prefix}…`),
          key.scopes.includes("admin") ? "admin" : "read only",
          timeAgo(key.lastUsedAt),
          timeAgo(key.expiresAt, "never"),
          badge(statusOf(key)),
          timeAgo(key.createdAt),
          key.revokedAt
            ? ""
            : h(
                "button",
                {
                  type: "button",
                  class: "button-danger-quiet",
                  "aria-label": `Revoke API key ${key.name}`,
                  onclick: () => revoke(key).catch(showProblem),
                },
                "Revoke",
              ),
        ]),
      }),
    );
  }

  renderList(keys);
  replace(
    main,
    heading("API keys"),
    problem,
    once,
    listSlot,
    keyForm((created) => {
      const panel = createdPanel(created);
      replace(once, panel);
      panel.focus();
      flash(`API key ${created.name} created.`);
      refreshList().catch(showProblem);
    }),
  );
}
