import { describe, expect, it } from "vitest";
import { blockedReason, maskUrl, parseWebhookUrl } from "../../../src/notify/index.js";

describe("blockedReason", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["fd12:3456::1", "unique local"],
    ["::ffff:127.0.0.1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["::ffff:7f00:1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["::ffff:10.0.0.1", "private (IPv4 10.0.0.1 inside IPv6)"],
    ["::ffff:169.254.169.254", "link-local (IPv4 169.254.169.254 inside IPv6)"],
    ["64:ff9b::7f00:1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["2002:7f00:1::1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["not-an-ip", "not an IP address"],
  ])("refuses %s (%s)", (ip, reason) => {
    expect(blockedReason(ip)).toBe(reason);
  });

  it.each(["1.1.1.1", "8.8.8.8", "162.159.135.232", "2606:4700:4700::1111", "::ffff:8.8.8.8"])(
    "allows the public address %s",
    (ip) => {
      expect(blockedReason(ip)).toBeUndefined();
    },
  );
});

describe("parseWebhookUrl and maskUrl", () => {
  it("requires https unless private addresses are allowed", () => {
    expect(() => parseWebhookUrl("http://hooks.example.com/x", false)).toThrow(/must use https/);
    expect(parseWebhookUrl("http://127.0.0.1:9/x", true).host).toBe("127.0.0.1:9");
    expect(() => parseWebhookUrl("ftp://hooks.example.com/x", true)).toThrow(/must use https/);
    expect(() => parseWebhookUrl("https://user:pw@hooks.example.com/x", false)).toThrow(/credentials/);
    expect(() => parseWebhookUrl("not a url", false)).toThrow(/not a valid URL/);
  });

  it("masks the token of a Discord URL and any query", () => {
    expect(maskUrl("https://discord.com/api/webhooks/123/abcDEF_token")).toBe(
      "https://discord.com/api/webhooks/123/****",
    );
    expect(maskUrl("https://hooks.example.com/in?key=s3cret")).toBe("https://hooks.example.com/****?****");
  });
});
