import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import {
  bytesToIp,
  ipToBytes,
  isHostname,
  normaliseCidr,
  normaliseCidrSet,
  normaliseInterfaceAddress,
  parseEndpoint,
} from "../../../src/wireguard/index.js";
import { externalMemoryAfterGc, largeText } from "../../support/memory.js";

describe("normaliseCidr", () => {
  it.each([
    ["a host address gets a /32", "10.0.0.5", "10.0.0.5/32"],
    ["host bits are cleared as WireGuard clears them", "10.0.0.5/24", "10.0.0.0/24"],
    ["a default route stays a default route", "0.0.0.0/0", "0.0.0.0/0"],
    ["an IPv6 host address gets a /128", "fd00::2", "fd00::2/128"],
    ["IPv6 is lowercased and compressed", "FD00:0000:0000:0000:0000:0000:0000:0002/128", "fd00::2/128"],
    ["IPv6 host bits are cleared", "fd00::1:0:0:0:5/64", "fd00:0:0:1::/64"],
    [
      "the longest zero run is compressed, the first of equals",
      "2001:db8:0:0:1:0:0:1/128",
      "2001:db8::1:0:0:1/128",
    ],
    ["a single zero group is not compressed", "2001:db8:0:1:1:1:1:1/128", "2001:db8:0:1:1:1:1:1/128"],
    ["an IPv4-mapped address keeps its dotted tail", "::FFFF:192.0.2.1/128", "::ffff:192.0.2.1/128"],
    ["the IPv6 default route", "::/0", "::/0"],
    ["surrounding spaces are ignored", " 10.0.0.1/32 ", "10.0.0.1/32"],
  ])("%s", (_name, input, output) => {
    expect(normaliseCidr(input)).toBe(output);
  });

  it.each([
    ["an octet above 255", "10.0.0.256/32"],
    ["a leading zero (octal in some parsers)", "010.0.0.1/32"],
    ["a prefix above 32", "10.0.0.1/33"],
    ["a prefix above 128", "fd00::1/129"],
    ["a negative prefix", "10.0.0.1/-1"],
    ["two compressions", "fd00::1::2/128"],
    ["a zone id", "fe80::1%eth0/128"],
    ["a hostname", "example.com/32"],
    ["an embedded newline", "10.0.0.1/32\nallowed_ip=0.0.0.0/0"],
    ["an embedded equals sign", "10.0.0.1=/32"],
    ["an empty string", ""],
  ])("refuses %s", (_name, input) => {
    expect(() => normaliseCidr(input)).toThrow(DomainError);
  });

  it("makes sets comparable: normalised, de-duplicated and sorted", () => {
    expect(normaliseCidrSet(["10.0.1.9/24", "10.0.0.2", "10.0.0.2/32"])).toEqual([
      "10.0.0.2/32",
      "10.0.1.0/24",
    ]);
  });
});

describe("normaliseCidr's cache", () => {
  it("keeps no large text alive that a CIDR was sliced from", async () => {
    const before = await externalMemoryAfterGc();
    for (let n = 1; n <= 40; n++) {
      const cidr = `fd00:${n.toString(16)}::1:2/128`;
      const { text, at } = largeText(1_200_000, cidr);
      expect(normaliseCidr(text.slice(at, at + cidr.length))).toBe(cidr);
    }
    // Were every text kept by its key, this would be ~48 MB.
    expect((await externalMemoryAfterGc()) - before).toBeLessThan(8 * 1024 * 1024);
  });
});

describe("normaliseInterfaceAddress", () => {
  it.each([
    ["an IPv4 address keeps its host part", "10.0.0.1/24", "10.0.0.1/24"],
    ["an IPv6 address is canonicalised", "FD00:0::1/64", "fd00::1/64"],
    ["a bare address becomes a host route", "10.0.0.1", "10.0.0.1/32"],
  ])("%s", (_name, input, output) => {
    expect(normaliseInterfaceAddress(input)).toBe(output);
  });

  it("refuses anything that is not an address", () => {
    expect(() => normaliseInterfaceAddress("10.0.0.1/24 dev lo")).toThrow(DomainError);
  });
});

describe("parseEndpoint", () => {
  it.each([
    ["an IPv4 endpoint", "192.0.2.1:51820", "192.0.2.1:51820", true],
    ["an IPv6 endpoint in brackets, canonicalised", "[2001:DB8:0::1]:51820", "[2001:db8::1]:51820", true],
    ["a hostname, lowercased", "VPN.Example.com:51820", "vpn.example.com:51820", false],
  ])("parses %s", (_name, input, text, isIp) => {
    expect(parseEndpoint(input)).toMatchObject({ text, isIp });
  });

  it.each([
    ["no port", "192.0.2.1"],
    ["port 0", "192.0.2.1:0"],
    ["a port above 65535", "192.0.2.1:65536"],
    ["IPv6 without brackets", "2001:db8::1:51820"],
    ["a newline", "192.0.2.1:51820\nremove=true"],
    ["an equals sign", "a=b:51820"],
    ["a space", "vpn example.com:51820"],
    ["an IP-like hostname", "999.1.1.1:51820"],
  ])("refuses an endpoint with %s", (_name, input) => {
    expect(() => parseEndpoint(input)).toThrow(DomainError);
  });
});

describe("ipToBytes and bytesToIp", () => {
  it.each([
    ["0.0.0.0", "0.0.0.0"],
    ["10.1.2.3", "10.1.2.3"],
    ["::", "::"],
    ["FD00:0:0::1", "fd00::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
  ])("reads %s and prints it as %s", (text, canonical) => {
    const ip = ipToBytes(text);
    expect(ip?.bytes).toHaveLength(ip?.family === 4 ? 4 : 16);
    expect(bytesToIp(ip!.bytes)).toBe(canonical);
  });

  it.each(["010.0.0.1", "10.0.0", "fe80::1%eth0", "[::1]", "1.2.3.4/32", "", "::1::2"])(
    "refuses %j",
    (text) => {
      expect(ipToBytes(text)).toBeNull();
    },
  );
});

describe("isHostname", () => {
  it.each([
    ["a lowercase name", "vpn.example.com", true],
    ["a mixed-case name", "VPN.Example.com", true],
    ["a single label", "localhost", true],
    ["a dotted number", "999.1.1.1", false],
    ["a trailing dot", "vpn.example.com.", false],
    ["a label starting with a hyphen", "-vpn.example.com", false],
    ["an underscore", "vpn_1.example.com", false],
    ["a newline", "vpn.example.com\nPostUp", false],
  ])("%s: %s", (_name, value, expected) => {
    expect(isHostname(value)).toBe(expected);
  });
});
