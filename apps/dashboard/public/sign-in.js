/**
 * Sign-in: an API key, or an email and password, is sent once to `POST /api/auth/session`, which
 * answers with an HttpOnly cookie. The key is never stored by the page; the field is emptied once
 * the session is open.
 */
import { api } from "./api.js";
import { field, h, onSubmit, replace } from "./dom.js";

/** Renders the sign-in page into `main`; calls `onSignedIn(owner)` with the session's owner. */
export function renderSignIn(main, { message, onSignedIn }) {
  const signIn = async (form, body) => {
    const owner = await api("/api/auth/session", { method: "POST", body, quiet401: true });
    form.reset();
    onSignedIn(owner);
  };

  const keyForm = onSubmit(
    h(
      "form",
      { class: "stack", "aria-labelledby": "sign-in-key-title" },
      h("h2", { id: "sign-in-key-title" }, "With an API key"),
      field({
        label: "Admin API key",
        name: "apiKey",
        type: "password",
        required: true,
        autocomplete: "off",
        spellcheck: "false",
        hint: "The key wiresync printed at start, or one made under /api/admin/api-keys.",
      }),
      h("p", { class: "form-error", role: "alert" }),
      h("button", { type: "submit", class: "button-primary" }, "Sign in"),
    ),
    (form) => signIn(form, { apiKey: form.elements.namedItem("apiKey").value }),
  );

  const passwordForm = onSubmit(
    h(
      "form",
      { class: "stack" },
      field({ label: "Email", name: "email", type: "email", required: true, autocomplete: "username" }),
      field({
        label: "Password",
        name: "password",
        type: "password",
        required: true,
        autocomplete: "current-password",
      }),
      h("p", { class: "form-error", role: "alert" }),
      h("button", { type: "submit", class: "button-primary" }, "Sign in"),
    ),
    (form) =>
      signIn(form, {
        email: form.elements.namedItem("email").value,
        password: form.elements.namedItem("password").value,
      }),
  );

  replace(
    main,
    h(
      "div",
      { class: "sign-in" },
      h("h1", { tabIndex: -1 }, "Sign in to wiresync"),
      message ? h("p", { class: "notice", role: "status" }, message) : null,
      h("section", { class: "panel" }, keyForm),
      h("details", { class: "panel" }, h("summary", null, "Sign in with email and password"), passwordForm),
    ),
  );
  keyForm.elements.namedItem("apiKey").focus();
}
