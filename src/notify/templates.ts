/**
 * Email templates: for each, the zod schema of its data and a pure renderer giving subject, HTML and
 * text. Every value is HTML-escaped; nothing here reads the database or sends anything. A node-config
 * email gets its wg-quick file and QR code from the caller (they hold a private key and are never
 * stored in the email's row).
 */
import { z } from "zod";
import type { EmailTemplate } from "../db/index.js";

const Name = z.string().trim().min(1).max(200);

const RunData = z
  .object({
    id: z.string().max(100),
    type: z.string().max(50),
    error: z.string().max(10_000).nullable().optional(),
    itemsTotal: z.number().int().optional(),
    itemsFailed: z.number().int().optional(),
  })
  .loose();

const NodeData = z
  .object({
    id: z.string().max(100),
    name: Name,
    ip4: z.string().max(100).nullable().optional(),
    email: z.string().max(320).nullable().optional(),
  })
  .loose();

/** The data each template needs. Unknown keys are kept (and ignored by the renderer). */
export const TEMPLATE_DATA = {
  welcome: z.object({ name: Name.optional(), dashboardUrl: z.url().optional() }).loose(),
  "node-config": z.object({ nodeId: z.uuid() }).loose(),
  "sync-failed": z.object({ run: RunData }).loose(),
  "node-offline": z
    .object({
      node: NodeData,
      network: z.object({ name: Name }).loose().optional(),
      lastSeenAt: z.string().max(64).nullable().optional(),
    })
    .loose(),
  "node-quota": z
    .object({
      node: NodeData,
      network: z.object({ name: Name }).loose().optional(),
      quota: z
        .object({
          month: z.string().max(7),
          thresholdPercent: z.number().int(),
          usedBytes: z.number().int(),
          limitBytes: z.number().int(),
        })
        .loose(),
      disabled: z.boolean().optional(),
    })
    .loose(),
  "hub-takeover": z
    .object({
      network: z.object({ id: z.string().max(100), name: Name }).loose(),
      from: Name,
      to: Name,
      epoch: z.number().int(),
      expiredAt: z.string().max(64).optional(),
    })
    .loose(),
} as const satisfies Record<EmailTemplate, z.ZodType>;

export type TemplateData<T extends EmailTemplate> = z.infer<(typeof TEMPLATE_DATA)[T]>;

/** A node's wg-quick config as the mesh renders it; `text` holds the node's private key. */
export interface NodeConfigFile {
  nodeName: string;
  networkName?: string;
  filename: string;
  text: string;
  qrPng: Buffer;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  attachments: { filename: string; content: Buffer; contentType: string; contentId?: string }[];
}

/** Content id of the inline QR image in node-config emails (`<img src="cid:…">`). */
export const QR_CONTENT_ID = "wiresync-qr";

export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

function layout(title: string, body: string): string {
  return [
    "<!doctype html>",
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family:system-ui,sans-serif;max-width:600px;margin:0 auto;padding:24px;color:#222">',
    `<h1 style="font-size:20px">${escapeHtml(title)}</h1>`,
    body,
    '<p style="color:#888;font-size:12px">Sent by wiresync.</p>',
    "</body></html>",
  ].join("\n");
}

const p = (text: string) => `<p>${escapeHtml(text)}</p>`;

/**
 * Renders a template. `data` must already satisfy `TEMPLATE_DATA[template]` (the caller parses it);
 * `subject` overrides the default subject. A node-config email needs `config`; throws without it.
 */
export function renderEmail(
  template: EmailTemplate,
  data: Record<string, unknown>,
  options: { subject?: string | null; config?: NodeConfigFile } = {},
): RenderedEmail {
  const pick = (fallback: string) => options.subject ?? fallback;
  switch (template) {
    case "welcome": {
      const d = TEMPLATE_DATA.welcome.parse(data);
      const hello = d.name ? `Hello ${d.name},` : "Hello,";
      const lines = [
        hello,
        "your wiresync account is ready. You can manage networks, nodes and notifications from the dashboard.",
        ...(d.dashboardUrl ? [`Dashboard: ${d.dashboardUrl}`] : []),
      ];
      const subject = pick("Welcome to wiresync");
      return {
        subject,
        html: layout(subject, lines.map(p).join("\n")),
        text: lines.join("\n\n"),
        attachments: [],
      };
    }
    case "node-config": {
      const config = options.config;
      if (!config) throw new Error("a node-config email needs the node's config");
      const subject = pick(`Your WireGuard config for ${config.nodeName}`);
      const intro = `Here is the WireGuard configuration of ${config.nodeName}${
        config.networkName ? ` in network ${config.networkName}` : ""
      }. Import the attached ${config.filename} with wg-quick or the WireGuard app, or scan the QR code.`;
      const warning = "Keep it private: it contains the node's private key. Delete this email once imported.";
      const html = layout(
        subject,
        [
          p(intro),
          `<p><img src="cid:${QR_CONTENT_ID}" alt="WireGuard QR code" width="256" height="256"></p>`,
          `<p><strong>${escapeHtml(warning)}</strong></p>`,
        ].join("\n"),
      );
      return {
        subject,
        html,
        text: `${intro}\n\n${warning}\n`,
        attachments: [
          { filename: config.filename, content: Buffer.from(config.text, "utf8"), contentType: "text/plain" },
          {
            filename: "wireguard-qr.png",
            content: config.qrPng,
            contentType: "image/png",
            contentId: QR_CONTENT_ID,
          },
        ],
      };
    }
    case "sync-failed": {
      const { run } = TEMPLATE_DATA["sync-failed"].parse(data);
      const subject = pick(`wiresync: ${run.type} sync failed`);
      const lines = [
        `The ${run.type} sync run ${run.id} failed.`,
        ...(run.itemsTotal !== undefined
          ? [`Failed tasks: ${run.itemsFailed ?? 0} of ${run.itemsTotal}.`]
          : []),
        `Error: ${run.error ?? "(no message)"}`,
      ];
      return {
        subject,
        html: layout(subject, lines.map(p).join("\n")),
        text: lines.join("\n\n"),
        attachments: [],
      };
    }
    case "node-offline": {
      const d = TEMPLATE_DATA["node-offline"].parse(data);
      const subject = pick(`wiresync: node ${d.node.name} is offline`);
      const lines = [
        `Node ${d.node.name}${d.network ? ` in network ${d.network.name}` : ""} stopped reporting and is now offline.`,
        ...(d.node.ip4 ? [`Address: ${d.node.ip4}`] : []),
        ...(d.lastSeenAt ? [`Last seen: ${d.lastSeenAt}`] : []),
      ];
      return {
        subject,
        html: layout(subject, lines.map(p).join("\n")),
        text: lines.join("\n\n"),
        attachments: [],
      };
    }
    case "node-quota": {
      const d = TEMPLATE_DATA["node-quota"].parse(data);
      const { quota } = d;
      const subject = pick(`wiresync: node ${d.node.name} used ${quota.thresholdPercent} % of its quota`);
      const lines = [
        `Node ${d.node.name}${d.network ? ` in network ${d.network.name}` : ""} moved ${quota.usedBytes} bytes in ${quota.month} (UTC), ${quota.thresholdPercent} % of its monthly quota of ${quota.limitBytes} bytes.`,
        d.disabled
          ? "It is disabled until the month turns or an operator enables it again."
          : quota.thresholdPercent >= 100
            ? "It was already disabled."
            : "At 100 % it will be disabled until the month turns.",
      ];
      return {
        subject,
        html: layout(subject, lines.map(p).join("\n")),
        text: lines.join("\n\n"),
        attachments: [],
      };
    }
    case "hub-takeover": {
      const d = TEMPLATE_DATA["hub-takeover"].parse(data);
      const subject = pick(`wiresync: hub host ${d.to} took over network ${d.network.name}`);
      const lines = [
        `Hub host ${d.from} stopped renewing its lease on network ${d.network.name}${d.expiredAt ? ` (expired ${d.expiredAt})` : ""}.`,
        `Hub host ${d.to} took the interface over with the same key, port and peers (lease epoch ${d.epoch}).`,
        `When ${d.from} returns it stays standby; check why it stopped.`,
      ];
      return {
        subject,
        html: layout(subject, lines.map(p).join("\n")),
        text: lines.join("\n\n"),
        attachments: [],
      };
    }
  }
}
