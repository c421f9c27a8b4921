import { describe, expect, it } from "vitest";
import { QR_CONTENT_ID, renderEmail } from "../../../src/notify/index.js";

describe("renderEmail", () => {
  it("escapes every value in HTML", () => {
    const mail = renderEmail("welcome", { name: "<script>alert(1)</script>" });
    expect(mail.html).not.toContain("<script>alert");
    expect(mail.html).toContain("&lt;script&gt;");
    expect(mail.text).toContain("<script>alert(1)</script>");
    expect(mail.subject).toBe("Welcome to wiresync");
  });

  it("attaches the config and inlines the QR code of a node-config email", () => {
    const mail = renderEmail(
      "node-config",
      { nodeId: "0b0e6c1e-6a55-4f39-9d0e-1f4b7e0a9c11" },
      {
        config: {
          nodeName: "laptop",
          filename: "laptop.conf",
          text: "[Interface]\n",
          qrPng: Buffer.from("png"),
        },
      },
    );
    expect(mail.subject).toBe("Your WireGuard config for laptop");
    expect(mail.html).toContain(`cid:${QR_CONTENT_ID}`);
    expect(mail.attachments.map((a) => [a.filename, a.contentType, a.contentId])).toEqual([
      ["laptop.conf", "text/plain", undefined],
      ["wireguard-qr.png", "image/png", QR_CONTENT_ID],
    ]);
  });

  it("renders sync-failed and node-offline from event data, with an optional subject override", () => {
    const failed = renderEmail("sync-failed", { run: { id: "r1", type: "full", error: "boom" } });
    expect(failed.subject).toBe("wiresync: full sync failed");
    expect(failed.text).toContain("Error: boom");
    const offline = renderEmail(
      "node-offline",
      { node: { id: "n1", name: "edge-1", ip4: "10.0.0.2" }, network: { name: "lab" } },
      { subject: "Edge down" },
    );
    expect(offline.subject).toBe("Edge down");
    expect(offline.text).toContain("Node edge-1 in network lab");
  });

  it("throws for data that does not fit the template", () => {
    expect(() => renderEmail("sync-failed", { nope: true })).toThrow();
  });
});

describe("node-quota emails", () => {
  it("names the node, the bytes, the month and what happens next", () => {
    const email = renderEmail("node-quota", {
      node: { id: "n1", name: "laptop" },
      network: { name: "office" },
      quota: { month: "2026-03", thresholdPercent: 100, usedBytes: 2_000, limitBytes: 2_000 },
      disabled: true,
    });
    expect(email.subject).toBe("wiresync: node laptop used 100 % of its quota");
    expect(email.text).toBe(
      "Node laptop in network office moved 2000 bytes in 2026-03 (UTC), 100 % of its monthly quota of 2000 bytes.\n\n" +
        "It is disabled until the month turns or an operator enables it again.",
    );
  });
});
