/**
 * Settings (admins only): the scheduled full reconcile (on or off, and how often), and every stored
 * setting, set or changed as JSON. An encrypted setting's value is never shown, here or by the API.
 */
import { ApiError, api } from "../api.js";
import { field, flash, h, listPage, onSubmit, rowButton, table, timeAgo } from "../dom.js";

function scheduleForm(schedule) {
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "schedule-title", novalidate: true },
    h("h2", { id: "schedule-title" }, "Sync schedule"),
    field({
      label: "Reconcile on a schedule",
      name: "autoSyncEnabled",
      type: "checkbox",
      checked: schedule.autoSyncEnabled,
      hint: "A full sync of every network, as if started from the overview.",
    }),
    field({
      label: "Interval (seconds)",
      name: "autoSyncInterval",
      type: "number",
      required: true,
      value: String(schedule.autoSyncInterval),
      hint: "From 30 seconds to one day (86400).",
    }),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button-primary" }, "Save schedule")),
  );
  return onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name);
    const raw = el("autoSyncInterval").value.trim();
    const body = {
      autoSyncEnabled: el("autoSyncEnabled").checked,
      // Sent as typed, so the server names what is wrong with it.
      autoSyncInterval: raw === "" || Number.isNaN(Number(raw)) ? raw : Number(raw),
    };
    const saved = await api("/api/admin/sync/settings", { method: "POST", body });
    el("autoSyncInterval").value = String(saved.autoSyncInterval);
    flash(
      saved.autoSyncEnabled
        ? `Sync schedule saved: every ${saved.autoSyncInterval} seconds.`
        : "Sync schedule saved: off.",
    );
  });
}

function settingForm(onSaved) {
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "setting-title" },
    h("h2", { id: "setting-title" }, "Set a setting"),
    field({ label: "Key", name: "key", required: true, maxLength: 64, placeholder: "ops.contact" }),
    field({
      label: "Value",
      name: "value",
      required: true,
      placeholder: '"noc@example.com"',
      hint: 'JSON: "text" in quotes, 42, true, ["a", "b"], {"k": 1}.',
    }),
    field({
      label: "Encrypted",
      name: "encrypted",
      type: "checkbox",
      hint: "Sealed at rest and never shown again (passwords, tokens).",
    }),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button-primary" }, "Save setting")),
  );
  onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name);
    let value;
    try {
      value = JSON.parse(el("value").value);
    } catch {
      throw new ApiError(400, "VALIDATION_FAILED", "The value is not JSON.", {
        issues: [{ path: "value", message: "must be JSON" }],
      });
    }
    const body = { key: el("key").value.trim(), value, encrypted: el("encrypted").checked };
    const saved = await api("/api/admin/settings", { method: "POST", body });
    form.reset();
    onSaved(saved);
  });
  return form;
}

export async function renderSettings({ main, signal }) {
  const schedule = await api("/api/admin/sync/settings", { signal });
  const form = settingForm((saved) => {
    flash(`Setting ${saved.key} saved.`);
    page.refresh();
  });
  const edit = (setting) => {
    form.elements.namedItem("key").value = setting.key;
    form.elements.namedItem("value").value = setting.encrypted ? "" : JSON.stringify(setting.value);
    form.elements.namedItem("encrypted").checked = setting.encrypted;
    form.elements.namedItem("value").focus();
  };
  const page = await listPage({
    main,
    title: "Settings",
    signal,
    before: scheduleForm(schedule),
    load: () => api("/api/admin/settings", { signal }),
    render: (list) =>
      table({
        caption: "Stored settings",
        columns: ["Key", "Value", "Changed", "By", ""],
        empty: "No settings stored: every default applies.",
        rows: list.map((setting) => [
          h("code", null, setting.key),
          setting.encrypted
            ? h("span", { class: "muted" }, "encrypted")
            : h("code", { class: "wrap" }, JSON.stringify(setting.value)),
          timeAgo(setting.updatedAt),
          setting.updatedBy ?? "—",
          rowButton("Edit", `Edit setting ${setting.key}`, () => edit(setting)),
        ]),
      }),
    after: form,
  });
}
