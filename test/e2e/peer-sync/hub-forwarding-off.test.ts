/**
 * A hub that does not forward (`WG_FORWARDING=off` on a host that forwards nothing): every node
 * reaches the hub, no node reaches another, and wiresync says so, with the fix, in `/health/ready`
 * and in the drift report, instead of calling the network in sync.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { applyWgQuickConfig, parseWgQuickConfig } from "../../../src/agent/index.js";
import type { WorkerRuntime } from "../../../workers/runtime.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { HubAndClients, Lab } from "../../support/netns.js";
import { createLab, describeNetns, hubAndClients } from "../../support/netns.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { startTestWorkers } from "../../support/workers.js";

const WAIT = { timeout: 20_000, interval: 200 };

describeNetns("a hub interface whose host does not forward", () => {
  let lab: Lab;
  let hubNs: string;
  let hubIface: string;
  let ns: HubAndClients["ns"];
  let iface: HubAndClients["iface"];
  let t: TestPlatform;
  let workers: WorkerRuntime;

  beforeAll(async () => {
    lab = createLab();
    ({ hubNs, hubIface, ns, iface } = await hubAndClients(lab, ["192.168.111", "192.168.112"]));
    t = await createTestPlatform({
      wireguard: {
        interfaces: [{ network: "nofwd", iface: hubIface, netns: hubNs }],
        driver: "auto",
        forwarding: "off",
      },
    });
    workers = await startTestWorkers(t.platform, { queues: ["peer-sync", "config-push"] });
  }, 60_000);

  afterAll(async () => {
    await workers?.close();
    await t?.close();
    await lab?.close();
  });

  it("names the problem and its fix in /health/ready and in the drift report", async () => {
    const net = await createNetwork(t, {
      name: "nofwd",
      cidr4: "10.151.0.0/24",
      cidr6: "fd51::/64",
      endpoint: "192.168.111.1:51881",
      listenPort: 51881,
      persistentKeepalive: 1,
    });
    const nodes = { c1: await createNode(t, net.id), c2: await createNode(t, net.id) };
    for (const who of ["c1", "c2"] as const) {
      const res = await t.request(`/api/v1/nodes/${nodes[who].node.id}/config`, {
        key: null,
        headers: { Authorization: `Bearer ${nodes[who].token}` },
      });
      await applyWgQuickConfig(parseWgQuickConfig(await res.text()), { iface: iface[who], netns: ns[who] });
      await vi.waitFor(async () => expect(await lab.ping(ns[who], "10.151.0.1")).toBe(true), WAIT);
    }
    // The problem is real: both reach the hub, neither reaches the other.
    expect(await lab.ping(ns.c1, nodes.c2.node.ip4)).toBe(false);

    const problem =
      `nodes of the hub interface ${hubIface} cannot reach each other over IPv4 and IPv6: ` +
      `WG_FORWARDING=off and the host does not forward; run \`sysctl -w net.ipv4.conf.${hubIface}.forwarding=1\`` +
      ` and \`sysctl -w net.ipv6.conf.${hubIface}.force_forwarding=1\` (or net.ipv6.conf.all.forwarding=1 before Linux 6.17)` +
      " on the hub host, or give the peer-sync worker CAP_NET_ADMIN and unset WG_FORWARDING=off";
    const ready = await t.request("/health/ready", { key: null });
    const body = await json(ready);
    expect(ready.status).toBe(503);
    expect(body.failed).toEqual(["hub-forwarding"]);
    expect(body.checks["hub-forwarding"].error).toBe(problem);
    expect(body.detail).toBe(`hub-forwarding: ${problem}`);

    const drift = await json(await t.request(`/api/v1/networks/${net.id}/drift`));
    expect(drift.data).toMatchObject({
      managed: true,
      missing: [],
      unexpected: [],
      mismatched: [],
      settings: [],
      forwarding: { ok: false, problem },
    });
    // Nothing was turned on behind the operator's back.
    const sysctl = await lab.exec(hubNs, "sysctl", ["-n", `net.ipv4.conf.${hubIface}.forwarding`]);
    expect(sysctl.stdout.trim()).toBe("0");
  });
});
