import { describe, expect, it } from "vitest";
import {
  addressFamily,
  bigIntToIp,
  contains,
  formatCidr,
  hostPrefix,
  ipToBigInt,
  overlaps,
  parseCidr,
} from "../../../src/mesh/index.js";

describe("parseCidr", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["192.168.1.128/25", "192.168.1.128/25"],
    ["fd00:0:0:0::/64", "fd00::/64"],
    ["2001:DB8::/32", "2001:db8::/32"],
    ["::/0", "::/0"],
  ])("reads %s as %s", (text, canonical) => {
    expect(formatCidr(parseCidr(text))).toBe(canonical);
  });

  it.each([
    ["host bits set", "10.0.0.1/24", /host bits set; did you mean 10.0.0.0\/24/],
    ["a prefix too long for IPv4", "10.0.0.0/33", /too long/],
    ["no prefix", "10.0.0.0", /not a CIDR/],
    ["garbage", "ten/8", /not an IP address/],
    ["a newline", "10.0.0.0/24\nPostUp = x", /not a CIDR/],
  ])("rejects %s", (_name, text, message) => {
    expect(() => parseCidr(text)).toThrow(message);
  });
});

describe("addresses", () => {
  it.each(["0.0.0.0", "255.255.255.255", "::", "::1", "fd00::1:0:0:2", "2001:db8:0:1::", "1:2:3:4:5:6:7:8"])(
    "round-trips %s",
    (ip) => {
      const { family, value } = ipToBigInt(ip);
      expect(bigIntToIp(value, family)).toBe(ip);
    },
  );

  it("prints IPv4-mapped IPv6 with a dotted tail, as the data plane and PostgreSQL do", () => {
    expect(bigIntToIp(ipToBigInt("::ffff:10.0.0.1").value, 6)).toBe("::ffff:10.0.0.1");
  });

  it.each(["010.0.0.1", "fe80::1%eth0", "10.0.0", "1.2.3.4.5"])("refuses %j as an address", (ip) => {
    expect(() => ipToBigInt(ip)).toThrow(/is not an IP address/);
  });

  it.each([
    ["10.0.0.2", 4, "10.0.0.2/32"],
    ["0.0.0.0", 4, "0.0.0.0/32"],
    ["fd00::2", 6, "fd00::2/128"],
    ["FD00:0:0:0:0:0:0:2", 6, "FD00:0:0:0:0:0:0:2/128"],
    ["::", 6, "::/128"],
    ["::ffff:10.0.0.1", 6, "::ffff:10.0.0.1/128"],
    ["1:2:3:4:5:6:7:8", 6, "1:2:3:4:5:6:7:8/128"],
  ])("knows %s as IPv%i, its host prefix %s", (ip, family, prefix) => {
    expect(addressFamily(ip)).toBe(family);
    expect(hostPrefix(ip)).toBe(prefix);
  });

  it.each([
    "010.0.0.1",
    "10.0.0.256",
    "10.0.0",
    "fd00:::2",
    "1:2:3:4:5:6:7:8:9",
    "fd00::2:",
    ":fd00::2",
    "",
    "x",
  ])("refuses %j as a host", (ip) => {
    expect(() => addressFamily(ip)).toThrow(/is not an IP address/);
    expect(() => hostPrefix(ip)).toThrow(/is not an IP address/);
  });

  it.each([
    ["10.0.0.0/24", "10.0.0.128/25", true],
    ["10.0.0.0/24", "10.0.1.0/24", false],
    ["fd00::/64", "fd00::/48", true],
    ["10.0.0.0/24", "fd00::/64", false],
  ])("overlaps(%s, %s) is %s", (a, b, expected) => {
    expect(overlaps(parseCidr(a), parseCidr(b))).toBe(expected);
  });

  it("knows membership", () => {
    expect(contains(parseCidr("10.0.0.0/30"), "10.0.0.3")).toBe(true);
    expect(contains(parseCidr("10.0.0.0/30"), "10.0.0.4")).toBe(false);
  });
});
