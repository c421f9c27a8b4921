import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Resolver } from "../../../src/notify/index.js";
import { safePost } from "../../../src/notify/index.js";
import type { StandIn } from "../../support/stand-ins.js";
import { startStandIn } from "../../support/stand-ins.js";

/** DNS for the tests: names that point where an attacker would like them to. */
const fakeDns: Resolver = async (host) => {
  const table: Record<string, string[]> = {
    "private.attacker.test": ["10.0.0.5"],
    "metadata.attacker.test": ["169.254.169.254"],
    "mixed.attacker.test": ["93.184.216.34", "127.0.0.1"],
    "mapped.attacker.test": ["::ffff:127.0.0.1"],
    "ula.attacker.test": ["fd00::1"],
  };
  const found = table[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
  return found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
};

const request = { headers: { "Content-Type": "application/json" }, body: "{}" };

describe("safePost refuses internal addresses", () => {
  let target: StandIn;
  beforeAll(async () => {
    target = await startStandIn();
  });
  afterAll(async () => {
    await target.close();
  });

  const port = () => new URL(target.url).port;
  const guarded = { allowPrivate: false, timeoutMs: 2_000, resolver: fakeDns };

  it.each([
    ["loopback", () => `https://127.0.0.1:${port()}/x`],
    ["loopback IPv6", () => `https://[::1]:${port()}/x`],
    ["IPv4-mapped loopback", () => `https://[::ffff:127.0.0.1]:${port()}/x`],
    ["unspecified", () => `https://0.0.0.0:${port()}/x`],
    ["link-local metadata", () => "https://169.254.169.254/latest/meta-data"],
    ["private", () => "https://10.1.2.3/x"],
    ["a name resolving to a private address", () => "https://private.attacker.test/x"],
    ["a name resolving to the metadata address", () => "https://metadata.attacker.test/x"],
    ["a name with one public and one loopback address", () => "https://mixed.attacker.test/x"],
    ["a name resolving to an IPv4-mapped loopback", () => "https://mapped.attacker.test/x"],
    ["a name resolving to a unique-local IPv6", () => "https://ula.attacker.test/x"],
    ["plain http", () => "http://93.184.216.34/x"],
  ])("refuses %s without connecting", async (_name, url) => {
    const before = target.received.length;
    const outcome = await safePost(url(), request, guarded);
    expect(outcome).toMatchObject({ kind: "error", refused: true });
    expect(target.received.length).toBe(before);
  });

  it("refuses localhost through the system resolver", async () => {
    const outcome = await safePost(`https://localhost:${port()}/x`, request, {
      allowPrivate: false,
      timeoutMs: 2_000,
    });
    expect(outcome).toMatchObject({ kind: "error", refused: true });
    expect((outcome as { error: string }).error).toMatch(/loopback/);
  });

  it("connects to the address it checked, not to a second DNS answer", async () => {
    const pinned: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const outcome = await safePost(`http://rebind.attacker.test:${port()}/pinned`, request, {
      allowPrivate: true,
      timeoutMs: 2_000,
      resolver: pinned,
    });
    expect(outcome).toMatchObject({ kind: "response", status: 204 });
    expect(target.received.at(-1)!.path).toBe("/pinned");
    expect(target.received.at(-1)!.headers.host).toBe(`rebind.attacker.test:${port()}`);
  });

  it("never follows a redirect, even to an allowed address", async () => {
    const redirector = await startStandIn(() => ({
      status: 302,
      headers: { Location: `${target.url}/redirected` },
    }));
    try {
      const before = target.received.length;
      const outcome = await safePost(`${redirector.url}/start`, request, {
        allowPrivate: true,
        timeoutMs: 2_000,
      });
      expect(outcome).toMatchObject({ kind: "response", status: 302 });
      expect(target.received.length).toBe(before);
    } finally {
      await redirector.close();
    }
  });

  it("gives up on a receiver that does not answer in time", async () => {
    const slow = await startStandIn(() => ({ status: 200, delayMs: 1_000 }));
    try {
      const outcome = await safePost(`${slow.url}/slow`, request, { allowPrivate: true, timeoutMs: 200 });
      expect(outcome).toMatchObject({ kind: "error", refused: false });
      expect((outcome as { error: string }).error).toMatch(/no answer within 200 ms/);
    } finally {
      await slow.close();
    }
  });
});
