/**
 * Hub interfaces held in memory, for tests of the peer sync and of what sits on top of it: one
 * `FakeWg` per interface name, missing until the sync brings it up with the hub's key (`ensure`), as
 * the real ops would.
 */
import type { InterfaceBinding } from "../../src/config.js";
import type { InterfaceOps } from "../../src/peer-sync/index.js";
import { FakeWg, publicKeyOf, WireGuardError } from "../../src/wireguard/index.js";

export function fakeInterfaceOps() {
  const fakes = new Map<string, FakeWg>();
  const ensured: string[] = [];
  const ops: InterfaceOps = {
    open(b: InterfaceBinding) {
      let fake = fakes.get(b.iface);
      if (!fake) {
        // As a real driver finds no interface: the first read fails, and the sync brings one up.
        fake = new FakeWg(b.iface);
        fake.failNext(new WireGuardError("no such interface", { iface: b.iface, operation: "get" }));
        fakes.set(b.iface, fake);
      }
      return fake;
    },
    async ensure(b, hub) {
      ensured.push(b.iface);
      const existing = fakes.get(b.iface);
      const fresh = new FakeWg(b.iface, {
        publicKey: publicKeyOf(hub.privateKey),
        listenPort: hub.listenPort,
      });
      if (existing) for (const p of (await existing.dump()).peers) fresh.inject(p);
      fakes.set(b.iface, fresh);
      return undefined;
    },
  };
  return { ops, fakes, ensured };
}
