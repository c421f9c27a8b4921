/**
 * A small list of live notices under the top bar: what an operator should look at now (drift found,
 * a webhook delivery failed, a node went offline, a sync failed). Newest first, a few at most, each
 * dismissable. Every string in it comes from the server and goes in as text.
 */
import { badge, h, replace, timeAgo } from "./dom.js";
import { onLive } from "./live.js";

/** Notices kept on screen; older ones drop off. */
const MAX_NOTICES = 5;

const networkLink = (network) =>
  network?.id
    ? h("a", { href: `#/networks/${encodeURIComponent(network.id)}` }, network.name ?? "a network")
    : "a network";

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** What each kind of event says as a notice: `[tone word, message parts]`, or undefined for none. */
const DESCRIBE = {
  "drift.detected": (d) => [
    "drift",
    [
      "The hub interface of ",
      networkLink(d.network),
      ` differs from the database: ${d.missing ?? 0} missing, ${d.unexpected ?? 0} unexpected, ${d.mismatched ?? 0} mismatched peers`,
      d.settings ? `, ${plural(d.settings, "setting")}` : "",
      ".",
    ],
  ],
  "delivery.failed": (d) => [
    "failed",
    [
      `Webhook ${d.webhook?.name ?? "?"} could not deliver ${d.delivery?.eventType ?? "an event"}`,
      ` (attempt ${d.delivery?.attempt ?? "?"}`,
      d.delivery?.statusCode ? `, HTTP ${d.delivery.statusCode}` : "",
      d.delivery?.error ? `: ${d.delivery.error}` : "",
      d.delivery?.willRetry ? "); it will retry." : "); no retry left.",
    ],
  ],
  "webhook.disabled": (d) => [
    "disabled",
    [`Webhook ${d.webhook?.name ?? "?"} was turned off: ${d.reason ?? "too many failures"}.`],
  ],
  "node.offline": (d) => [
    "offline",
    [`Node ${d.node?.name ?? "?"} of `, networkLink(d.network), " went offline."],
  ],
  "sync.failed": (d) => [
    "failed",
    [
      `A ${d.run?.type ?? ""} sync failed`,
      d.run?.error ? `: ${d.run.error}` : ".",
      " ",
      h("a", { href: "#/sync" }, "Sync runs →"),
    ],
  ],
};

/**
 * Shows live notices in `region` until `signal` aborts (sign-out), which also empties it. Returns
 * nothing.
 */
export function startNotices(region, signal) {
  const notices = [];

  function render() {
    region.hidden = notices.length === 0;
    replace(
      region,
      h(
        "ul",
        null,
        notices.map((notice) =>
          h(
            "li",
            { dataset: { type: notice.type } },
            badge(notice.tone),
            h("span", { class: "notice-text" }, notice.parts),
            h(
              "span",
              { class: "notice-meta" },
              timeAgo(notice.at),
              h(
                "button",
                {
                  type: "button",
                  class: "button-quiet",
                  "aria-label": "Dismiss notice",
                  onclick: () => {
                    notices.splice(notices.indexOf(notice), 1);
                    render();
                  },
                },
                "Dismiss",
              ),
            ),
          ),
        ),
      ),
    );
  }

  onLive((event) => {
    const describe = DESCRIBE[event.type];
    if (!describe) return;
    const [tone, parts] = describe(event.data ?? {});
    notices.unshift({ type: event.type, tone, parts, at: event.at });
    notices.length = Math.min(notices.length, MAX_NOTICES);
    render();
  }, signal);
  signal.addEventListener("abort", () => {
    notices.length = 0;
    render();
  });
}
