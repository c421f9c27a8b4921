import { describe, expect, it } from "vitest";
import type { HostAddress } from "../../../src/agent/reach.js";
import { candidateAddresses } from "../../../src/agent/reach.js";

describe("candidateAddresses", () => {
  const address = (
    iface: string,
    ip: string,
    prefix: number,
    scope: HostAddress["scope"] = "global",
  ): HostAddress => ({
    iface,
    address: ip,
    prefix,
    scope,
  });

  it.each<[string, HostAddress[], string[]]>([
    [
      "keeps global addresses with their prefixes",
      [address("eth0", "192.168.1.5", 24), address("eth0", "2001:db8::5", 64)],
      ["192.168.1.5/24", "2001:db8::5/64"],
    ],
    [
      "drops loopback and link-local scopes",
      [address("lo", "127.0.0.1", 8, "host"), address("eth0", "fe80::1", 64, "link")],
      [],
    ],
    [
      "drops link-local addresses an OS marks global",
      [address("eth0", "169.254.3.4", 16), address("eth0", "fe80::2", 64)],
      [],
    ],
    [
      "drops the WireGuard interface's own addresses",
      [address("wsync0", "10.20.0.2", 24), address("eth0", "192.168.1.5", 24)],
      ["192.168.1.5/24"],
    ],
    [
      "keeps one of each and at most 32",
      Array.from({ length: 40 }, (_, i) => address("eth0", `10.0.${i % 35}.1`, 24)),
      Array.from({ length: 32 }, (_, i) => `10.0.${i}.1/24`),
    ],
  ])("%s", (_name, addresses, expected) => {
    expect(candidateAddresses(addresses, "wsync0")).toEqual(expected);
  });
});
