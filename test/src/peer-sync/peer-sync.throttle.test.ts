import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InterfaceOps, SyncOutcome } from "../../../src/peer-sync/index.js";
import type { FakeWg } from "../../../src/wireguard/index.js";
import { fakeInterfaceOps } from "../../support/fake-interfaces.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

/** In-memory interfaces whose writes can be held open, to have a write in flight on demand. */
function gatedOps() {
  const inner = fakeInterfaceOps();
  let gate: Promise<void> | null = null;
  let entered = 0;
  const ops: InterfaceOps = {
    ...inner.ops,
    open(b) {
      const port = inner.ops.open(b);
      return {
        name: port.name,
        dump: () => port.dump(),
        async apply(plan) {
          entered++;
          await gate;
          // The fake in the map, not `port`: `ensure` may have replaced it.
          return inner.fakes.get(b.iface)!.apply(plan);
        },
      };
    },
  };
  return {
    ops,
    fake: (iface: string): FakeWg => inner.fakes.get(iface)!,
    entered: () => entered,
    hold() {
      let open!: () => void;
      gate = new Promise<void>((r) => {
        open = r;
      });
      return () => {
        gate = null;
        open();
      };
    },
  };
}

async function waitUntil(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe("apply throttle: a burst of changes while a write is in flight", () => {
  let t: TestPlatform;
  const gated = gatedOps();
  beforeAll(async () => {
    t = await createTestPlatform({
      wireguard: {
        interfaces: [{ network: "burst", iface: "wsburst", netns: undefined }],
        driver: "auto",
        minApplyIntervalMs: 100,
      },
      interfaceOps: gated.ops,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it("lands N changes in exactly 2 writes (the first at once, the rest in one shared trailing sync), every peer present", async () => {
    const N = 12;
    const net = await createNetwork(t, { name: "burst", cidr4: "10.79.0.0/24" });
    const sync = () =>
      t.platform.services.peerSync.syncNetwork(net.id, { removeUnknown: false, reportDrift: false });
    expect((await sync()).writes).toBe(0); // brings the interface up; no peers yet
    const fake = gated.fake("wsburst");
    const writesBefore = fake.writes;

    const release = gated.hold();
    const first = await createNode(t, net.id);
    const leading = sync();
    await waitUntil("the leading write is in flight", () => gated.entered() === 1);
    const rest = [];
    const followers: Promise<SyncOutcome>[] = [];
    for (let i = 1; i < N; i++) {
      rest.push(await createNode(t, net.id));
      followers.push(sync());
    }
    release();

    const lead = await leading;
    const trailing = await Promise.all(followers);
    expect(lead).toMatchObject({ managed: true, writes: 1, coalesced: false });
    for (const outcome of trailing) expect(outcome).toBe(trailing[0]);
    expect(trailing[0]).toMatchObject({ managed: true, writes: 1, coalesced: true, peers: N });
    expect(fake.writes - writesBefore).toBe(2);
    const plans = fake.applied.slice(-2);
    expect(plans[0]!.add.map((p) => p.publicKey)).toEqual([first.node.publicKey]);
    expect(plans[1]!.add.map((p) => p.publicKey).sort()).toEqual(rest.map((r) => r.node.publicKey).sort());
    const onInterface = new Set((await fake.dump()).peers.map((p) => p.publicKey));
    expect(onInterface.size).toBe(N);
    for (const n of [first, ...rest]) expect(onInterface.has(n.node.publicKey)).toBe(true);
  });
});

describe("apply throttle: lone changes", () => {
  let t: TestPlatform;
  const { ops, fakes } = fakeInterfaceOps();
  beforeAll(async () => {
    t = await createTestPlatform({
      // A window far longer than the test's timeout: a lone change that waited for it would fail.
      wireguard: {
        interfaces: [{ network: "lone", iface: "wslone", netns: undefined }],
        driver: "auto",
        minApplyIntervalMs: 60_000,
      },
      interfaceOps: ops,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it("applies each of several changes in a row at once, right after the previous one's write", async () => {
    const net = await createNetwork(t, { name: "lone", cidr4: "10.80.0.0/24" });
    const sync = () =>
      t.platform.services.peerSync.syncNetwork(net.id, { removeUnknown: false, reportDrift: false });
    await sync();
    const fake = fakes.get("wslone")!;
    const before = fake.writes;
    for (let i = 1; i <= 3; i++) {
      const { node } = await createNode(t, net.id);
      const outcome = await sync();
      expect(outcome).toMatchObject({ managed: true, writes: 1, coalesced: false, peers: i });
      expect((await fake.dump()).peers.map((p) => p.publicKey)).toContain(node.publicKey);
    }
    expect(fake.writes - before).toBe(3);
  });
});
