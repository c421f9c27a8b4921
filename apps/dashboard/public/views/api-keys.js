/** API keys (admins only): the list, create (the key is shown once), revoke after asking. */
import { api } from "../api.js";
import {
  badge,
  confirmDialog,
  field,
  flash,
  h,
  listPage,
  onSubmit,
  rowButton,
  secretPanel,
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

const createdPanel = (key) =>
  secretPanel({
    id: "new-api-key",
    title: `API key ${key.name}`,
    note: "Copy this key now: it is shown only once. Send it as the X-API-Key header, or sign in here with it.",
    label: "API key",
    value: key.key,
    copyLabel: "Copy key",
    what: "Key",
  });

export async function renderApiKeys({ main, signal }) {
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
    await page.refresh();
  }

  const page = await listPage({
    main,
    title: "API keys",
    signal,
    load: () => api("/api/admin/api-keys", { signal }),
    render: (list) =>
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
            : rowButton("Revoke", `Revoke API key ${key.name}`, () => revoke(key).catch(page.showProblem), {
                danger: true,
              }),
        ]),
      }),
    after: keyForm((created) => {
      page.showOnce(createdPanel(created));
      flash(`API key ${created.name} created.`);
      page.refresh();
    }),
  });
}
