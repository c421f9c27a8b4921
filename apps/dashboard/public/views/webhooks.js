/**
 * Webhooks (admins only): the list, create (the signing secret is shown once), edit (name, events,
 * enable/disable), a test send, each webhook's deliveries with replay, and delete.
 */
import { api, query as toQuery } from "../api.js";
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

const TYPES = [
  ["DISCORD", "Discord"],
  ["GENERIC", "Generic (signed JSON)"],
  ["GOTIFY", "Gotify"],
];
const EVENTS_HINT =
  "Comma-separated: * for every event, or e.g. node.offline, node.degraded, sync.failed, or a custom event name.";
const DELIVERIES_PAGE = 20;

/** "a, b" → ["a", "b"]. */
function eventList(text) {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function webhookForm(onCreated) {
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "new-webhook-title" },
    h("h2", { id: "new-webhook-title" }, "New webhook"),
    field({ label: "Name", name: "name", required: true, maxLength: 100, placeholder: "ops channel" }),
    field({ label: "Type", name: "type", type: "select", options: TYPES, value: "DISCORD" }),
    field({
      label: "URL",
      name: "webhookUrl",
      type: "url",
      required: true,
      placeholder: "https://discord.com/api/webhooks/…",
    }),
    field({
      label: "Gotify token",
      name: "token",
      type: "password",
      autocomplete: "off",
      hint: "The Gotify application's token. Stored sealed, never shown again.",
    }),
    field({ label: "Events", name: "events", required: true, value: "*", hint: EVENTS_HINT }),
    h("p", { class: "form-error", role: "alert" }),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "button-primary" }, "Create webhook"),
    ),
  );
  // The token field is for Gotify only; the other types sign with a secret wiresync makes.
  const tokenField = form.elements.namedItem("token").closest(".field");
  const showToken = () => {
    tokenField.hidden = form.elements.namedItem("type").value !== "GOTIFY";
  };
  form.elements.namedItem("type").addEventListener("change", showToken);
  form.addEventListener("reset", () => setTimeout(showToken));
  showToken();
  return onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name);
    const body = {
      name: el("name").value.trim(),
      type: el("type").value,
      webhookUrl: el("webhookUrl").value.trim(),
      events: eventList(el("events").value),
    };
    if (body.type === "GOTIFY") body.token = el("token").value;
    const created = await api("/api/admin/settings/webhooks", { method: "POST", body });
    form.reset();
    onCreated(created);
  });
}

function secretPanel(webhook) {
  const panel = h(
    "section",
    { class: "panel once", "aria-labelledby": "webhook-secret-shown", tabIndex: -1 },
    h("h2", { id: "webhook-secret-shown" }, `Signing secret of ${webhook.name}`),
    h(
      "p",
      { class: "notice" },
      "Copy this secret now: it is shown only once. The receiver checks each request's signature with it.",
    ),
    h(
      "div",
      { class: "inline" },
      h("label", { for: "webhook-secret-value", class: "visually-hidden" }, "Signing secret"),
      h("input", {
        id: "webhook-secret-value",
        class: "mono",
        readOnly: true,
        value: webhook.secret,
        spellcheck: "false",
      }),
      h(
        "button",
        { type: "button", class: "button-quiet", onclick: () => copyText(webhook.secret, "Secret") },
        "Copy secret",
      ),
      h("button", { type: "button", onclick: () => panel.remove() }, "Done"),
    ),
  );
  return panel;
}

function editForm(webhook, onSaved, onCancel) {
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "edit-webhook-title" },
    h("h2", { id: "edit-webhook-title" }, `Edit ${webhook.name}`),
    field({ label: "Name", name: "name", required: true, maxLength: 100, value: webhook.name }),
    field({
      label: "Events",
      name: "events",
      required: true,
      value: webhook.events.join(", "),
      hint: EVENTS_HINT,
    }),
    field({
      label: "Enabled",
      name: "enabled",
      type: "checkbox",
      checked: webhook.enabled,
      hint: "Enabling a webhook that failed too often clears its failure streak.",
    }),
    h("p", { class: "form-error", role: "alert" }),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "button-quiet", onclick: onCancel }, "Cancel"),
      h("button", { type: "submit", class: "button-primary" }, "Save webhook"),
    ),
  );
  return onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name);
    const body = {
      id: webhook.id,
      name: el("name").value.trim(),
      events: eventList(el("events").value),
      enabled: el("enabled").checked,
    };
    onSaved(await api("/api/admin/settings/webhooks", { method: "PUT", body }));
  });
}

/** The deliveries of one webhook, newest first, a page at a time, each finished one replayable. */
async function deliveriesPanel(webhook, { signal, onClose, onProblem }) {
  const panel = h("section", { class: "panel", "aria-labelledby": "deliveries-title", tabIndex: -1 });
  const load = async (offset) => {
    const page = await api(
      `/api/admin/settings/webhooks/${encodeURIComponent(webhook.id)}/deliveries${toQuery({ limit: DELIVERIES_PAGE, offset })}`,
      { signal },
    );
    if (signal.aborted) return;
    const replay = async (delivery) => {
      await api(
        `/api/admin/settings/webhooks/${encodeURIComponent(webhook.id)}/deliveries/${encodeURIComponent(delivery.id)}/replay`,
        { method: "POST" },
      );
      flash(`Delivery of ${delivery.eventType} queued again.`);
      await load(offset);
    };
    replace(
      panel,
      h(
        "div",
        { class: "view-head" },
        h("h2", { id: "deliveries-title" }, `Deliveries of ${webhook.name}`),
        h(
          "div",
          { class: "row-actions" },
          h(
            "button",
            { type: "button", class: "button-quiet", onclick: () => load(offset).catch(onProblem) },
            "Reload",
          ),
          h("button", { type: "button", class: "button-quiet", onclick: onClose }, "Close"),
        ),
      ),
      table({
        caption: `Deliveries of ${webhook.name}`,
        columns: ["Event", "Status", "Attempts", "Answer", "Created", ""],
        empty: "No deliveries yet. Send a test to see one.",
        rows: page.items.map((d) => [
          h("code", null, d.eventType),
          badge(d.status),
          String(d.attempts),
          d.lastStatusCode !== null
            ? `HTTP ${d.lastStatusCode}`
            : (d.lastError ?? h("span", { class: "muted" }, "—")),
          timeAgo(d.createdAt),
          d.status === "pending"
            ? ""
            : h(
                "button",
                {
                  type: "button",
                  class: "button-quiet",
                  "aria-label": `Replay delivery of ${d.eventType}`,
                  onclick: () => replay(d).catch(onProblem),
                },
                "Replay",
              ),
        ]),
      }),
      page.total > page.items.length
        ? h(
            "div",
            { class: "row-actions" },
            h(
              "button",
              {
                type: "button",
                class: "button-quiet",
                disabled: offset === 0,
                onclick: () => load(Math.max(0, offset - DELIVERIES_PAGE)).catch(onProblem),
              },
              "← Newer",
            ),
            h(
              "button",
              {
                type: "button",
                class: "button-quiet",
                disabled: offset + DELIVERIES_PAGE >= page.total,
                onclick: () => load(offset + DELIVERIES_PAGE).catch(onProblem),
              },
              "Older →",
            ),
          )
        : null,
    );
  };
  await load(0);
  return panel;
}

export async function renderWebhooks({ main, signal }) {
  const webhooks = await api("/api/admin/settings/webhooks", { signal });
  if (signal.aborted) return;
  const problem = h("div");
  const once = h("div");
  const listSlot = h("div");
  const detail = h("div");
  const showProblem = (err) => replace(problem, errorBox(err));

  const refreshList = async () => {
    const latest = await api("/api/admin/settings/webhooks", { signal });
    if (!signal.aborted) renderList(latest);
  };

  const showPanel = (panel) => {
    replace(detail, panel);
    panel.focus();
  };

  async function sendTest(webhook) {
    const result = await api("/api/admin/settings/webhooks", { method: "PATCH", body: { id: webhook.id } });
    if (result.ok)
      flash(`Test sent to ${webhook.name}: HTTP ${result.statusCode} in ${result.durationMs} ms.`);
    else
      flash(
        `Test to ${webhook.name} failed: ${result.error ?? `HTTP ${result.statusCode}`}${result.body ? ` (${result.body})` : ""}`,
        "bad",
      );
  }

  async function remove(webhook) {
    const sure = await confirmDialog({
      title: `Delete ${webhook.name}?`,
      message: "It receives no more events and its delivery log goes with it. This cannot be undone.",
      confirmLabel: "Delete webhook",
      danger: true,
    });
    if (!sure) return;
    await api(`/api/admin/settings/webhooks${toQuery({ id: webhook.id })}`, { method: "DELETE" });
    flash(`Webhook ${webhook.name} deleted.`);
    detail.replaceChildren();
    await refreshList();
  }

  function renderList(list) {
    replace(
      listSlot,
      table({
        caption: "Webhooks",
        columns: ["Name", "Type", "URL", "Events", "Status", "Last delivery", ""],
        empty: "No webhooks yet. Create the first one below.",
        rows: list.map((w) => [
          w.name,
          w.type,
          h("code", { class: "wrap" }, w.webhookUrl),
          w.events.join(", "),
          h(
            "span",
            { title: w.disabledReason ?? "" },
            badge(w.enabled ? "enabled" : "disabled"),
            w.consecutiveFailures > 0 ? ` ${w.consecutiveFailures} failed` : "",
          ),
          timeAgo(w.lastDeliveryAt),
          h(
            "div",
            { class: "row-actions" },
            h(
              "button",
              {
                type: "button",
                class: "button-quiet",
                "aria-label": `Edit webhook ${w.name}`,
                onclick: () =>
                  showPanel(
                    editForm(
                      w,
                      (saved) => {
                        flash(`Webhook ${saved.name} saved.`);
                        detail.replaceChildren();
                        refreshList().catch(showProblem);
                      },
                      () => detail.replaceChildren(),
                    ),
                  ),
              },
              "Edit",
            ),
            h(
              "button",
              {
                type: "button",
                class: "button-quiet",
                "aria-label": `Send a test to webhook ${w.name}`,
                onclick: () => sendTest(w).then(refreshList).catch(showProblem),
              },
              "Test",
            ),
            h(
              "button",
              {
                type: "button",
                class: "button-quiet",
                "aria-label": `Deliveries of webhook ${w.name}`,
                onclick: () =>
                  deliveriesPanel(w, {
                    signal,
                    onClose: () => detail.replaceChildren(),
                    onProblem: showProblem,
                  })
                    .then(showPanel)
                    .catch(showProblem),
              },
              "Deliveries",
            ),
            h(
              "button",
              {
                type: "button",
                class: "button-danger-quiet",
                "aria-label": `Delete webhook ${w.name}`,
                onclick: () => remove(w).catch(showProblem),
              },
              "Delete",
            ),
          ),
        ]),
      }),
    );
  }

  renderList(webhooks);
  replace(
    main,
    heading("Webhooks"),
    problem,
    once,
    listSlot,
    detail,
    webhookForm((created) => {
      flash(`Webhook ${created.name} created.`);
      if (created.secret) {
        const panel = secretPanel(created);
        replace(once, panel);
        panel.focus();
      }
      refreshList().catch(showProblem);
    }),
  );
}
