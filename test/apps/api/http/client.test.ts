import { describe, expect, it } from "vitest";
import { forwardedHttps, proxyTrust, resolveClientAddress } from "../../../../apps/api/http/client.js";
import { sourceBucket } from "../../../../src/auth/index.js";

const none = proxyTrust({ kind: "none" });
const oneHop = proxyTrust({ kind: "hops", hops: 1 });
const twoHops = proxyTrust({ kind: "hops", hops: 2 });
const ranges = proxyTrust({ kind: "ranges", ranges: ["10.0.0.0/8", "fd00::/8", "192.0.2.1"] });

describe("resolveClientAddress", () => {
  it.each([
    ["the socket peer when no proxy is trusted", "198.51.100.7", "203.0.113.1", none, "198.51.100.7"],
    ["the peer when a trusted proxy sends no header", "10.0.0.5", undefined, ranges, "10.0.0.5"],
    ["the last entry behind one trusted hop", "10.0.0.5", "1.1.1.1, 203.0.113.9", oneHop, "203.0.113.9"],
    [
      "the entry two hops back behind two",
      "10.0.0.5",
      "1.1.1.1, 203.0.113.9, 10.0.0.6",
      twoHops,
      "203.0.113.9",
    ],
    [
      "the first untrusted address walking back through listed proxies",
      "10.0.0.5",
      "1.1.1.1, 203.0.113.9, 10.1.2.3",
      ranges,
      "203.0.113.9",
    ],
    ["the peer when it is not a listed proxy", "198.51.100.7", "203.0.113.9", ranges, "198.51.100.7"],
    [
      "the proxy itself when its entry is not an address",
      "10.0.0.5",
      "203.0.113.9, not-an-ip",
      ranges,
      "10.0.0.5",
    ],
    ["an IPv4-mapped peer as plain IPv4", "::ffff:198.51.100.7", undefined, none, "198.51.100.7"],
    ["an IPv6 client behind an IPv6 proxy", "fd00::1", "2001:DB8::1", ranges, "2001:db8::1"],
    ["a single listed address, not its neighbours", "192.0.2.2", "203.0.113.9", ranges, "192.0.2.2"],
  ])("is %s", (_name, peer, header, trust, expected) => {
    expect(resolveClientAddress(peer, header, trust)).toBe(expected);
  });

  it("is undefined without a socket (an in-process request)", () => {
    expect(resolveClientAddress(undefined, "203.0.113.9", oneHop)).toBeUndefined();
  });
});

describe("forwardedHttps", () => {
  it.each([
    ["a trusted proxy's https", "10.0.0.5", "https", ranges, true],
    ["the last value, the one the trusted proxy wrote", "10.0.0.5", "https, http", ranges, false],
    ["an untrusted peer's https", "198.51.100.7", "https", ranges, false],
    ["any https without TRUST_PROXY", "10.0.0.5", "https", none, false],
    ["one hop's HTTPS, in any case", "127.0.0.1", "HTTPS", oneHop, true],
  ])("believes %s: %s", (_name, peer, proto, trust, expected) => {
    expect(forwardedHttps(peer, proto, trust)).toBe(expected);
  });
});

describe("sourceBucket", () => {
  it.each([
    ["203.0.113.9", "203.0.113.9"],
    ["2001:db8:0:7::1", "2001:db8:0:7::/64"],
    ["2001:0db8:0000:0007:ffff:1:2:3", "2001:db8:0:7::/64"],
    ["::1", "0:0:0:0::/64"],
    [undefined, "unknown"],
  ])("counts %s as %s", (address, bucket) => {
    expect(sourceBucket(address)).toBe(bucket);
  });
});
