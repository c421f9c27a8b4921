/**
 * Applying a wg-quick config to an interface the way a node agent does, without wg-quick: bring the
 * interface up with its key, port, addresses and MTU, plan and apply the peers in one write, then
 * route what the peers' allowed IPs reach beyond the interface's own subnets (routes that nodes
 * carry) through the interface, as wg-quick would. The node owns its interface, so peers the config
 * does not list are removed, and so are wiresync's routes (`proto static`) no peer needs any more.
 */
import type { CheckedPlan, LinkPlan } from "../wireguard/index.js";
import {
  applyLinkPlan,
  ensureInterface,
  isEmptyLinkPlan,
  isEmptyPlan,
  openDriver,
  planInterface,
  planLink,
  readLinkState,
  routesFor,
} from "../wireguard/index.js";
import type { WgQuickConfig } from "./wg-quick.js";

export interface ApplyTarget {
  iface: string;
  netns?: string | undefined;
  driver?: "auto" | "uapi" | "wg";
  /** The node's own private key, when the config does not carry one (the node keeps its key). */
  privateKey?: string;
  /** Endpoints to set instead of the config's, by public key (the agent's relay sockets). */
  endpointOverrides?: ReadonlyMap<string, string>;
}

export interface ApplyResult {
  created: boolean;
  plan: CheckedPlan;
  writes: number;
  /** The interface settings changed after the peers (routes; MTU and addresses were set before). */
  link: LinkPlan;
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
      endpoint: target.endpointOverrides?.get(p.publicKey) ?? p.endpoint ?? null,
      persistentKeepalive: p.persistentKeepalive ?? null,
      // The config is the whole truth of the interface: no preshared key in it means none.
      presharedKey: p.presharedKey ?? null,
    }));
    const plan = planInterface(desired, actual, { removeUnknown: true, retired: new Set() });
    const { writes } = isEmptyPlan(plan) ? { writes: 0 } : await driver.apply(plan);
    const addresses = config.interface.addresses;
    const link = planLink(
      {
        addresses,
        mtu: config.interface.mtu ?? null,
        routes: routesFor(
          addresses,
          config.peers.flatMap((p) => p.allowedIps),
        ),
      },
      await readLinkState(target.iface, target.netns),
    );
    if (!isEmptyLinkPlan(link)) await applyLinkPlan(target.iface, target.netns, link);
    return { created: ensured.created, plan, writes, link };
  } finally {
    driver.close();
  }
}
