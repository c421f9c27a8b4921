/**
 * Applying a wg-quick config to an interface the way a node agent does, without wg-quick: bring the
 * interface up with its key, port, addresses and MTU, then plan and apply the peers in one write.
 * The node owns its interface, so peers the config does not list are removed.
 */
import type { WgPlan } from "../wireguard/index.js";
import { ensureInterface, isEmptyPlan, openDriver, planInterface } from "../wireguard/index.js";
import type { WgQuickConfig } from "./wg-quick.js";

export interface ApplyTarget {
  iface: string;
  netns?: string | undefined;
  driver?: "auto" | "uapi" | "wg";
  /** The node's own private key, when the config does not carry one (the node keeps its key). */
  privateKey?: string;
}

export interface ApplyResult {
  created: boolean;
  plan: WgPlan;
  writes: number;
}

/** Applies `config` to the target interface. Throws when the config has no private key to use. */
export async function applyWgQuickConfig(config: WgQuickConfig, target: ApplyTarget): Promise<ApplyResult> {
  const privateKey = config.interface.privateKey ?? target.privateKey;
  if (!privateKey)
    throw new Error("the config has no PrivateKey and none was given: the node must supply its own");
  const ensured = await ensureInterface({
    name: target.iface,
    privateKey,
    listenPort: config.interface.listenPort ?? 0,
    addresses: config.interface.addresses,
    ...(config.interface.mtu ? { mtu: config.interface.mtu } : {}),
    ...(target.netns ? { netns: target.netns } : {}),
  });
  const driver = openDriver(target.iface, { driver: target.driver ?? "auto", netns: target.netns });
  try {
    const actual = await driver.dump();
    const desired = config.peers.map((p) => ({
      publicKey: p.publicKey,
      allowedIps: p.allowedIps,
      endpoint: p.endpoint ?? null,
      persistentKeepalive: p.persistentKeepalive ?? null,
      ...(p.presharedKey ? { presharedKey: p.presharedKey } : {}),
    }));
    const plan = planInterface(desired, actual, { removeUnknown: true, retired: new Set() });
    const { writes } = isEmptyPlan(plan) ? { writes: 0 } : await driver.apply(plan);
    return { created: ensured.created, plan, writes };
  } finally {
    driver.close();
  }
}
