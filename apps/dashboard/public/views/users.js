/**
 * Users (admins only): the list, add a user, make admin or user, disable or enable, and reset a
 * password (to a generated password shown once to the admin who reset it). The server keeps
 * the last enabled admin: its refusal is shown as it comes.
 */
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

const userPath = (user) => `/api/admin/users/${encodeURIComponent(user.id)}`;

function userForm(onCreated) {
  const form = h(
    "form",
    { class: "panel form-grid", "aria-labelledby": "new-user-title" },
    h("h2", { id: "new-user-title" }, "New user"),
    field({ label: "Email", name: "email", type: "email", required: true, maxLength: 254 }),
    field({ label: "Name", name: "name", maxLength: 100 }),
    field({
      label: "Password",
      name: "password",
      type: "password",
      required: true,
      minLength: 10,
      autocomplete: "new-password",
      hint: "At least 10 characters. Tell it to the user yourself; it is not shown again.",
    }),
    field({
      label: "Role",
      name: "role",
      type: "select",
      options: [
        ["user", "User (read only)"],
        ["admin", "Admin (read and change everything)"],
      ],
      value: "user",
    }),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button-primary" }, "Add user")),
  );
  return onSubmit(form, async () => {
    const el = (name) => form.elements.namedItem(name).value;
    const body = { email: el("email").trim(), password: el("password"), role: el("role") };
    if (el("name").trim()) body.name = el("name").trim();
    const created = await api("/api/auth/register", { method: "POST", body });
    form.reset();
    onCreated(created);
  });
}

export async function renderUsers({ main, signal }) {
  async function change(user, body, done) {
    await api(userPath(user), { method: "PATCH", body });
    flash(done);
    await page.refresh();
  }

  async function toggleDisabled(user) {
    if (user.disabledAt) return change(user, { disabled: false }, `${user.email} can sign in again.`);
    const sure = await confirmDialog({
      title: `Disable ${user.email}?`,
      message: "Every session of theirs ends at once, and they cannot sign in until enabled again.",
      confirmLabel: "Disable user",
      danger: true,
    });
    if (sure) await change(user, { disabled: true }, `${user.email} disabled.`);
  }

  async function toggleRole(user) {
    const role = user.role === "admin" ? "user" : "admin";
    const sure = await confirmDialog({
      title: role === "admin" ? `Make ${user.email} an admin?` : `Make ${user.email} read-only?`,
      message:
        role === "admin"
          ? "Admins can read and change everything, users and keys included."
          : "They keep reading everything, but can change nothing.",
      confirmLabel: role === "admin" ? "Make admin" : "Make user",
      danger: role === "admin",
    });
    if (sure)
      await change(user, { role }, `${user.email} is now ${role === "admin" ? "an admin" : "a user"}.`);
  }

  async function resetPassword(user) {
    const sure = await confirmDialog({
      title: `Reset the password of ${user.email}?`,
      message:
        "Their password is replaced by a generated password shown to you once, and every session of theirs ends.",
      confirmLabel: "Reset password",
      danger: true,
    });
    if (!sure) return;
    const { password } = await api(`${userPath(user)}/password`, { method: "POST", body: {} });
    page.showOnce(
      secretPanel({
        id: "reset-password",
        title: `New password of ${user.email}`,
        note: "Hand this password to the user now: it is shown only once.",
        label: "Generated password",
        value: password,
        copyLabel: "Copy password",
        what: "Password",
      }),
    );
    flash(`Password of ${user.email} reset.`);
    await page.refresh();
  }

  const act = (fn) => () => fn().catch(page.showProblem);
  const page = await listPage({
    main,
    title: "Users",
    signal,
    load: () => api("/api/admin/users", { signal }),
    render: (list) =>
      table({
        caption: "Users",
        columns: ["Email", "Name", "Role", "Status", "Last sign-in", "Created", ""],
        empty: "No users yet. Add the first one below.",
        rows: list.map((user) => [
          user.email,
          user.name ?? h("span", { class: "muted" }, "—"),
          user.role,
          badge(user.disabledAt ? "disabled" : "active"),
          timeAgo(user.lastLoginAt),
          timeAgo(user.createdAt),
          h(
            "div",
            { class: "row-actions" },
            rowButton(
              user.role === "admin" ? "Make user" : "Make admin",
              `${user.role === "admin" ? "Make user" : "Make admin"} ${user.email}`,
              act(() => toggleRole(user)),
            ),
            rowButton(
              user.disabledAt ? "Enable" : "Disable",
              `${user.disabledAt ? "Enable" : "Disable"} user ${user.email}`,
              act(() => toggleDisabled(user)),
              { danger: !user.disabledAt },
            ),
            rowButton(
              "Reset password",
              `Reset password of ${user.email}`,
              act(() => resetPassword(user)),
              {
                danger: true,
              },
            ),
          ),
        ]),
      }),
    after: userForm((created) => {
      flash(`User ${created.email} added.`);
      page.refresh();
    }),
  });
}
