/**
 * Emails sent (admins only): newest first, filtered by status; each opens to show its delivery in
 * full (recipient, attempts, provider id, error). Email bodies and provider keys are never shown.
 */
import { api, query as toQuery } from "../api.js";
import { badge, errorBox, h, listPage, pager, replace, rowButton, table, timeAgo, timeAt } from "../dom.js";

const PAGE_SIZE = 50;
const STATUSES = ["queued", "sent", "skipped", "failed"];
const COLUMNS = ["Created", "To", "Template", "Subject", "Status", "Attempts", ""];

function emailDetails(email) {
  const fact = (term, value) => h("div", null, h("dt", null, term), h("dd", null, value));
  return h(
    "dl",
    { class: "facts" },
    fact("Email", h("code", null, email.id)),
    fact("To", email.to),
    fact("Subject", email.subject ?? "—"),
    fact("Template", email.template),
    fact("Status", badge(email.status)),
    fact("Attempts", String(email.attempts)),
    fact("Provider id", email.providerId ? h("code", null, email.providerId) : "—"),
    fact("Requested by", email.requestedBy ?? "—"),
    fact("Sent", timeAt(email.sentAt)),
    fact("Next attempt", timeAt(email.nextAttemptAt)),
    email.error ? fact("Error", h("span", { class: "check-error" }, email.error)) : null,
  );
}

export async function renderEmails({ main, query, signal, setQuery }) {
  const status = STATUSES.includes(query.get("status")) ? query.get("status") : "";
  const offset = Number(query.get("offset") ?? 0) || 0;

  function rowsOf(email) {
    const detailId = `email-${email.id}`;
    const detail = h("tr", { id: detailId, class: "detail-row", hidden: true }, h("td", { colSpan: 7 }));
    const toggle = rowButton(
      "Open",
      `Open email to ${email.to}: ${email.subject ?? email.template}`,
      async () => {
        const open = detail.hidden;
        detail.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = open ? "Close" : "Open";
        if (!open) return;
        try {
          replace(
            detail.firstChild,
            emailDetails(await api(`/api/admin/emails/${encodeURIComponent(email.id)}`, { signal })),
          );
        } catch (err) {
          if (!err?.endedSession) replace(detail.firstChild, errorBox(err));
        }
      },
    );
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", detailId);
    const cells = [
      timeAgo(email.createdAt),
      email.to,
      email.template,
      email.subject ?? h("span", { class: "muted" }, "—"),
      badge(email.status),
      String(email.attempts),
      toggle,
    ];
    // table() names each cell after its column (labelRow): the row is labelled there, once.
    return [
      h(
        "tr",
        null,
        cells.map((cell) => h("td", null, cell)),
      ),
      detail,
    ];
  }

  const filter = h(
    "div",
    { class: "inline" },
    h("label", { for: "email-status-filter" }, "Status"),
    h(
      "select",
      { id: "email-status-filter", onchange: (event) => setQuery({ status: event.target.value }) },
      h("option", { value: "" }, "All"),
      STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)),
    ),
  );

  await listPage({
    main,
    title: "Emails sent",
    headExtra: filter,
    signal,
    load: () => api(`/api/admin/emails${toQuery({ status, limit: PAGE_SIZE, offset })}`, { signal }),
    render: (page) => [
      table({
        caption: "Emails",
        columns: COLUMNS,
        empty: status ? `No ${status} emails.` : "No email has been sent yet.",
        rows: page.items.flatMap(rowsOf),
      }),
      pager({
        total: page.total,
        limit: PAGE_SIZE,
        offset,
        onPage: (next) => setQuery({ status, offset: next }),
        label: "Email pages",
      }),
    ],
  });
}
