/**
 * Usage collection of peer sync: reads the transfer counters and handshakes of a network's interface
 * (under its lock) into monthly usage, and marks nodes without an agent online when they shook hands.
 */
import type { InterfaceBinding } from "../config.js";
import type { LivenessService, NetworkService } from "../mesh/index.js";
import type { UsageService } from "../usage/index.js";
import type { HubInterfaces } from "./hub-interfaces.js";

/** Reads transfer counters and handshakes of the network's interface into monthly usage. */
export async function collectUsage(
  deps: {
    networks: NetworkService;
    usage: UsageService;
    liveness: LivenessService;
    hubs: HubInterfaces;
    bindingFor(network: { id: string; name: string }): InterfaceBinding | undefined;
  },
  networkId: string,
): Promise<{ managed: boolean; note: string }> {
  const network = await deps.networks.findNetwork(networkId);
  const binding = network ? deps.bindingFor(network) : undefined;
  if (!network || !binding)
    return {
      managed: false,
      note: "no WireGuard interface is managed for this network here; no counters to read",
    };
  const peers = await deps.hubs.exclusive(
    binding.iface,
    async () => (await deps.hubs.port(binding).dump()).peers,
  );
  const readings = peers.map((p) => ({
    publicKey: p.publicKey,
    rx: p.rxBytes,
    tx: p.txBytes,
    latestHandshake: p.latestHandshake,
  }));
  const recorded = await deps.usage.recordReadings(networkId, readings);
  // A node without an agent shows it is alive only by shaking hands with the hub.
  const online = await deps.liveness.recordHubHandshakes(networkId, readings);
  return {
    managed: true,
    note: `${binding.iface}: counters of ${recorded} peers recorded${online > 0 ? `, ${online} nodes seen online` : ""}`,
  };
}
