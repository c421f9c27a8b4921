import { describe, expect, it } from "vitest";
import type { InterfaceBinding } from "../../../src/config.js";
import type { HubState } from "../../../src/mesh/index.js";
import type { InterfaceOps } from "../../../src/peer-sync/index.js";
import { createLinkSync } from "../../../src/peer-sync/index.js";
import type { ActualLink, ForwardingStatus, LinkPlan } from "../../../src/wireguard/index.js";

const binding: InterfaceBinding = { network: "office", iface: "wsync0", netns: undefined };

/** A link held in memory, counting reads, writes and forwarding calls. */
function memoryLink(start: ActualLink, forwarding: Partial<ForwardingStatus> = {}) {
  const link = { ...start, routes: [...start.routes] };
  const calls = { reads: 0, applies: [] as LinkPlan[], forwarding: [] as boolean[] };
  const ops: InterfaceOps = {
    open: () => {
      throw new Error("not used");
    },
    ensure: async () => undefined,
    async readLink() {
      calls.reads++;
      return { ...link, routes: [...link.routes] };
    },
    async applyLink(_b, plan) {
      calls.applies.push(plan);
      if (plan.setMtu !== null) link.mtu = plan.setMtu;
      link.routes = [...link.routes.filter((r) => !plan.removeRoutes.includes(r)), ...plan.addRoutes];
    },
    async forwarding(_b, _ipv6, apply) {
      calls.forwarding.push(apply);
      return {
        iface: "wsync0",
        ipv4: true,
        ipv6: null,
        isolated: true,
        changed: [],
        problem: null,
        ...forwarding,
      };
    },
  };
  return { link, calls, ops };
}

const hub = (mtu: number | null, extra: string[] = []): HubState =>
  ({
    network: { mtu, cidr6: null },
    hubPrivateKey: "",
    peers: [
      { publicKey: "a", allowedIps: ["10.0.0.2/32"], endpoint: null },
      { publicKey: "b", allowedIps: ["10.0.0.3/32", ...extra], endpoint: null },
    ],
    retired: [],
  }) as unknown as HubState;

const start: ActualLink = { addresses: ["10.0.0.1/24"], mtu: 1420, routes: [] };

describe("link sync", () => {
  it("applies a network's MTU and a node's route once, and leaves an unchanged link unread on the next trigger", async () => {
    const { link, calls, ops } = memoryLink(start);
    const sync = createLinkSync({ ops, addressesOf: () => ["10.0.0.1/24"] });
    const first = await sync.reconcile(binding, hub(1380, ["192.168.5.0/24"]), { all: false, apply: true });
    expect(first.changed).toEqual(["mtu 1420→1380", "route +192.168.5.0/24"]);
    expect(link).toEqual({ addresses: ["10.0.0.1/24"], mtu: 1380, routes: ["192.168.5.0/24"] });
    const again = await sync.reconcile(binding, hub(1380, ["192.168.5.0/24"]), { all: false, apply: true });
    expect(again).toEqual({ drift: [], changed: [], forwarding: expect.objectContaining({ problem: null }) });
    expect(calls.reads).toBe(1);
    expect(calls.forwarding).toEqual([true]);
  });

  it("reads the link on a reconcile even when the database did not change, and repairs a hand-made change", async () => {
    const { link, calls, ops } = memoryLink(start);
    const sync = createLinkSync({ ops, addressesOf: () => ["10.0.0.1/24"] });
    await sync.reconcile(binding, hub(1380), { all: false, apply: true });
    link.mtu = 1300;
    const checked = await sync.reconcile(binding, hub(1380), { all: true, apply: false });
    expect(checked.drift).toEqual([{ field: "mtu", desired: "1380", actual: "1300" }]);
    expect(link.mtu).toBe(1300);
    const fixed = await sync.reconcile(binding, hub(1380), { all: true, apply: true });
    expect(fixed.changed).toEqual(["mtu 1300→1380"]);
    expect(link.mtu).toBe(1380);
    expect(calls.reads).toBe(3);
    expect(calls.forwarding).toEqual([true, false, true]);
  });

  it("takes a route off when its node no longer carries it, and posts forwarding problems", async () => {
    const { link, ops } = memoryLink(
      { ...start, routes: ["192.168.5.0/24"] },
      { problem: "nodes cannot reach each other" },
    );
    const posted: (string | null)[] = [];
    const sync = createLinkSync({
      ops,
      addressesOf: () => ["10.0.0.1/24"],
      forwardingBoard: { post: async (s) => void posted.push(s.problem), problems: async () => [] },
    });
    const outcome = await sync.reconcile(binding, hub(null), { all: false, apply: true });
    expect(outcome.changed).toEqual(["route -192.168.5.0/24"]);
    expect(link.routes).toEqual([]);
    expect(posted).toEqual(["nodes cannot reach each other"]);
  });
});
