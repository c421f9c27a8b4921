/**
 * A network's usage panel: received and sent per hour over the last three days and per month
 * before, for the whole network or one chosen node, drawn as our own SVG (no library); the month's
 * total; the month's top
 * talkers; and CSV downloads of both. Reads only usage, which carries no secrets.
 */
import { api, query } from "../api.js";
import { errorBox, h, replace, table } from "../dom.js";

const HOURS = 72;
const WIDTH = 720;
const HEIGHT = 160;
const SVG_NS = "http://www.w3.org/2000/svg";

/** `1.5 MB`-style text of a byte count (powers of 1,000, as network tools count). */
export function formatBytes(bytes) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child);
  return el;
}

/** The points attribute of one series, scaled so `max` touches the top. */
function linePoints(values, max) {
  const step = values.length > 1 ? WIDTH / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(HEIGHT - (v / max) * (HEIGHT - 4)).toFixed(1)}`)
    .join(" ");
}

/** The chart of hourly points `[{ hour, rxBytes, txBytes }]` with its legend. */
function chart(hourly, subject) {
  const rx = hourly.map((p) => p.rxBytes);
  const tx = hourly.map((p) => p.txBytes);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const peak = Math.max(...rx, ...tx);
  const max = peak || 1;
  const label = `Received and sent per hour by ${subject}, last ${hourly.length} hours: received ${formatBytes(sum(rx))}, sent ${formatBytes(sum(tx))}, peak ${formatBytes(peak)} in an hour`;
  const first = hourly[0]?.hour;
  return h(
    "figure",
    {
      class: "usage-chart",
      dataset: { rxBytes: String(sum(rx)), txBytes: String(sum(tx)), points: String(hourly.length) },
    },
    svg(
      "svg",
      { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", role: "img", "aria-label": label },
      svg("line", { class: "axis", x1: 0, y1: HEIGHT, x2: WIDTH, y2: HEIGHT }),
      svg("polyline", { class: "series-rx", points: linePoints(rx, max) }),
      svg("polyline", { class: "series-tx", points: linePoints(tx, max) }),
    ),
    h(
      "figcaption",
      null,
      h("span", { class: "legend legend-rx" }, `Received ${formatBytes(sum(rx))}`),
      h("span", { class: "legend legend-tx" }, `Sent ${formatBytes(sum(tx))}`),
      h(
        "span",
        { class: "muted" },
        `Peak ${formatBytes(peak)}/h · since ${first ? new Date(first).toLocaleString() : "—"}`,
      ),
    ),
  );
}

const MONTHS = 12;
const BAR_HEIGHT = 80;

/**
 * Monthly totals `[{ month, rxBytes, txBytes }]` (the last twelve) as pairs of bars, received then
 * sent; the hourly chart covers only the last days, these go back further.
 */
function monthBars(monthly, subject) {
  const months = monthly.slice(-MONTHS);
  const max = Math.max(1, ...months.flatMap((m) => [m.rxBytes, m.txBytes]));
  const slot = WIDTH / MONTHS;
  const bar = (kind, value, x) => {
    const height = (value / max) * (BAR_HEIGHT - 4);
    return svg("rect", { class: `bar-${kind}`, x, y: BAR_HEIGHT - height, width: slot * 0.35, height });
  };
  const label = `Monthly totals of ${subject}: ${months
    .map((m) => `${m.month} received ${formatBytes(m.rxBytes)}, sent ${formatBytes(m.txBytes)}`)
    .join("; ")}`;
  return h(
    "figure",
    { class: "usage-months", dataset: { months: String(months.length) } },
    svg(
      "svg",
      {
        viewBox: `0 0 ${WIDTH} ${BAR_HEIGHT}`,
        preserveAspectRatio: "none",
        role: "img",
        "aria-label": label,
      },
      ...months.flatMap((m, i) => [
        bar("rx", m.rxBytes, i * slot + slot * 0.1),
        bar("tx", m.txBytes, i * slot + slot * 0.45),
      ]),
    ),
    h(
      "figcaption",
      { class: "muted" },
      months.length ? `Months ${months[0].month} to ${months.at(-1).month}` : "No month with traffic yet",
    ),
  );
}

/**
 * The panel for `network`, whose node chooser lists `nodes` (the page's). Loads itself; a failed
 * load shows its error inside the panel, never breaking the page.
 */
export function usagePanel({ network, nodes, signal }) {
  const body = h("div", null, h("p", { class: "muted" }, "Loading usage…"));
  const chooser = h(
    "select",
    { id: "usage-subject", onchange: () => load() },
    h("option", { value: "" }, "Whole network"),
    nodes.map((node) => h("option", { value: node.id }, node.name)),
  );

  async function load() {
    const nodeId = chooser.value || undefined;
    const subject = nodeId ? chooser.selectedOptions[0].textContent : network.name;
    const seriesQuery = query(nodeId ? { nodeId, hours: HOURS } : { networkId: network.id, hours: HOURS });
    const topPath = `/api/v1/networks/${encodeURIComponent(network.id)}/usage/top`;
    try {
      const [series, top] = await Promise.all([
        api(`/api/v1/usage/series${seriesQuery}`, { signal }),
        api(topPath, { signal }),
      ]);
      if (signal.aborted) return;
      const month = series.monthly.find((m) => m.month === top.month) ?? { rxBytes: 0, txBytes: 0 };
      replace(
        body,
        chart(series.hourly, subject),
        monthBars(series.monthly, subject),
        h(
          "p",
          { class: "usage-month" },
          `${top.month}: received ${formatBytes(month.rxBytes)}, sent ${formatBytes(month.txBytes)}`,
        ),
        table({
          caption: `Top talkers of ${network.name}, ${top.month}`,
          columns: ["Node", "Received", "Sent", "Total"],
          rows: top.items.map((t) => [
            t.nodeName ?? t.publicKey,
            formatBytes(t.rxBytes),
            formatBytes(t.txBytes),
            formatBytes(t.totalBytes),
          ]),
          empty: "No traffic this month yet.",
        }),
        h(
          "p",
          { class: "actions" },
          h(
            "a",
            { href: `/api/v1/usage/series${seriesQuery}&format=csv`, download: "" },
            "Download hourly CSV",
          ),
          h("a", { href: `${topPath}?format=csv`, download: "" }, "Download top talkers CSV"),
        ),
      );
    } catch (err) {
      if (err?.name !== "AbortError" && !err?.endedSession) replace(body, errorBox(err));
    }
  }
  load();

  return h(
    "section",
    { class: "panel usage", "aria-labelledby": "usage-title" },
    h("h2", { id: "usage-title" }, "Usage"),
    h("div", { class: "field" }, h("label", { for: "usage-subject" }, "Traffic of"), chooser),
    body,
  );
}
