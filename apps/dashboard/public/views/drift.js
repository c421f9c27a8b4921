/**
 * A network's hub interface against the database: a drift check (asked of the peer-sync worker that
 * holds the interface) and, for admins, a fix (a sync that also removes peers nobody enrolled),
 * followed until it ends and checked again.
 */
import { api } from "../api.js";
import { badge, confirmDialog, errorBox, flash, h, replace, timeAt } from "../dom.js";
import { followRun } from "../runs.js";

/** Listed one by one up to this many; the rest are counted. */
const LIST_LIMIT = 50;

/**
 * The panel. `nameOf(publicKey)` names a node when the page knows it. Nothing is asked of the
 * worker until the user checks.
 */
export function driftPanel({ network, session, signal, nameOf }) {
  const id = encodeURIComponent(network.id);
  const result = h("div", { class: "drift-result", role: "status", "aria-live": "polite" });
  const checkButton = h("button", { type: "button", class: "button-quiet" }, "Check drift");
  // Offered to admins while the last check found drift.
  const fixButton = h("button", { type: "button", class: "button-primary", hidden: true }, "Fix drift");
  const peerName = (key) => {
    const name = nameOf(key);
    return name ? [name, " ", h("code", { class: "muted" }, `${key.slice(0, 8)}…`)] : h("code", null, key);
  };

  async function check() {
    checkButton.disabled = true;
    fixButton.hidden = true;
    replace(result, h("p", { class: "muted" }, "Asking the hub's worker…"));
    try {
      show(await api(`/api/v1/networks/${id}/drift`, { signal }));
    } catch (err) {
      if (err?.name === "AbortError" || err?.endedSession) return;
      replace(
        result,
        err.code === "INTERFACE_NOT_MANAGED"
          ? h("p", null, badge("not managed"), " ", err.detail)
          : err.code === "HUB_OWNER_ABSENT"
            ? h("p", null, badge("owner absent"), " ", err.detail)
            : errorBox(err),
      );
    } finally {
      checkButton.disabled = false;
    }
  }

  function show(drift) {
    const settings = drift.settings ?? [];
    const count = drift.missing.length + drift.unexpected.length + drift.mismatched.length + settings.length;
    const checked = [" (checked ", timeAt(drift.checkedAt), ")."];
    // Peers in step prove nothing when the hub does not forward: say so first, and how to fix it.
    const forwarding = drift.forwarding?.problem
      ? h(
          "p",
          { class: "form-error", role: "alert" },
          badge("nodes cannot reach each other"),
          " ",
          drift.forwarding.problem,
        )
      : null;
    if (count === 0) {
      replace(
        result,
        forwarding,
        h("p", null, badge("in sync"), ` ${drift.iface} matches the database`, ...checked),
      );
      return;
    }
    const items = [
      ...settings.map((d) =>
        h(
          "li",
          null,
          d.field === "mtu" || d.field === "listenPort"
            ? `${d.field === "mtu" ? "MTU" : "Listen port"} is ${d.actual}, the network says ${d.desired}`
            : d.field === "publicKey"
              ? "The interface's key is not the network's hub key"
              : d.desired === null
                ? `Interface ${d.field} not in the database: ${d.actual}`
                : `Interface ${d.field} missing: ${d.desired}`,
        ),
      ),
      ...drift.missing.map((key) => h("li", null, "Missing from the interface: ", peerName(key))),
      ...drift.unexpected.map((key) => h("li", null, "Not in the database: ", h("code", null, key))),
      ...drift.mismatched.map((m) =>
        h("li", null, "Differs: ", peerName(m.publicKey), ` (${m.fields.join(", ")})`),
      ),
    ];
    const more = items.length - LIST_LIMIT;
    replace(
      result,
      forwarding,
      h(
        "p",
        null,
        badge("drift"),
        ` ${drift.iface}: ${drift.missing.length} missing, ${drift.unexpected.length} not in the database, ${drift.mismatched.length} different, ${settings.length} interface settings`,
        ...checked,
      ),
      h("ul", { class: "drift-list" }, items.slice(0, LIST_LIMIT)),
      more > 0 ? h("p", { class: "muted" }, `and ${more} more`) : null,
    );
    fixButton.hidden = !session.isAdmin;
  }

  async function fix() {
    const sure = await confirmDialog({
      title: `Fix drift on ${network.name}?`,
      message:
        "A sync of this network puts missing peers back, corrects the ones that differ, and removes peers the database does not know from the interface.",
      confirmLabel: "Fix drift",
    });
    if (!sure) return;
    fixButton.hidden = true;
    replace(result, h("p", { class: "muted" }, "Fixing…"));
    try {
      const accepted = await api(`/api/v1/networks/${id}/drift/fix`, { method: "POST", signal });
      const run = await followRun(accepted.sync_log_id, signal);
      if (!run) return;
      if (run.status !== "COMPLETED") {
        replace(
          result,
          errorBox({ detail: `The drift fix ended ${run.status}: ${run.error ?? "see Sync runs"}` }),
        );
        return;
      }
      flash(`Drift on ${network.name} fixed.`);
    } catch (err) {
      if (err?.name !== "AbortError" && !err?.endedSession) replace(result, errorBox(err));
      return;
    }
    await check();
  }

  checkButton.addEventListener("click", check);
  fixButton.addEventListener("click", fix);
  return h(
    "section",
    { class: "panel", "aria-labelledby": "drift-title" },
    h("h2", { id: "drift-title" }, "Hub interface"),
    h("p", { class: "muted" }, "Compare the database with the hub's live WireGuard interface."),
    result,
    h("div", { class: "actions" }, checkButton, fixButton),
  );
}
