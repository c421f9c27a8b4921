import { describe, expect, it } from "vitest";
import { sanitizeEventData } from "../../../src/events/index.js";

describe("sanitizeEventData", () => {
  it("drops secret-named keys at any depth and keeps the rest", () => {
    const { data, dropped } = sanitizeEventData({
      node: {
        id: "n1",
        publicKey: "pub",
        privateKey: "PRIV",
        private_key: "PRIV",
        privateKeyEnc: "v1.x",
        presharedKey: "PSK",
        tokenHash: "h",
      },
      apiKey: "k",
      webhook: { secret: "s", url: "u" },
      nested: [{ password: "p", ok: 1 }],
    });
    expect(data).toEqual({
      node: { id: "n1", publicKey: "pub" },
      webhook: { url: "u" },
      nested: [{ ok: 1 }],
    });
    expect(dropped).toEqual([
      "node.privateKey",
      "node.private_key",
      "node.privateKeyEnc",
      "node.presharedKey",
      "node.tokenHash",
      "apiKey",
      "webhook.secret",
      "nested[0].password",
    ]);
  });

  it("turns dates into ISO strings, drops buffers and cuts long strings", () => {
    const { data } = sanitizeEventData({ at: new Date(0), blob: Buffer.from("x"), long: "y".repeat(20_000) });
    expect(data.at).toBe("1970-01-01T00:00:00.000Z");
    expect("blob" in data).toBe(false);
    expect((data.long as string).length).toBe(10_001);
  });
});
