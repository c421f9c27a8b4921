/** A mesh with relays for routing tests: nodes registered and heartbeating as their own clients do. */
import { generateKeyPair } from "../../src/mesh/index.js";
import type { Json } from "./http.js";
import { createEnrollmentKey, createNetwork, heartbeat, registerNode } from "./mesh.js";
import type { TestPlatform } from "./platform.js";

export interface RelayLab {
  networkId: string;
  /** The node asking for a relay (eu-west, NL). */
  client: Json;
  /** Online, no NAT, 20 ms, 45 of 50 slots free, 400 Mbps free, eu-west: 84.1 points. */
  near: Json;
  /** Online, full cone, 80 ms, 10 of 20 slots free, 100 Mbps free, us-east: 52.9 points. */
  far: Json;
  /** Online, behind a symmetric NAT: no path from a port-restricted client. */
  symmetric: Json;
  /** Registered as a relay but never reported in: not online, never offered. */
  silent: Json;
  /** Online but a peer, not a relay: never offered. */
  peer: Json;
}

/** Registers the lab's nodes in a fresh mesh network, in their own spellings, and brings them online. */
export async function createRelayLab(t: TestPlatform): Promise<RelayLab> {
  const net = await createNetwork(t, { topology: "mesh" });
  const relayKey = await createEnrollmentKey(t, net.id, { reusable: true, role: "relay" });
  const peerKey = await createEnrollmentKey(t, net.id, { reusable: true });
  const register = (key: string, name: string, body: Record<string, unknown> = {}) =>
    registerNode(t, key, { name, publicKey: generateKeyPair().publicKey, ...body });

  const near = await register(relayKey, "near", {
    networkInfo: { ipv4: "203.0.113.10", natType: "Open" },
    capabilities: { maxConnections: 50, bandwidth: { up: 500, down: 1_000 } },
    location: { country: "NL", region: "eu-west" },
  });
  await heartbeat(t, near.node.id, near.token, {
    metrics: { latency: 20, activeConnections: 5, bandwidthUsed: { up: 100, down: 50 } },
    endpoint: "203.0.113.10:51820",
  });
  const far = await register(relayKey, "far", {
    networkInfo: { natType: "FullCone" },
    capabilities: { maxConnections: 20, bandwidth: { up: 100, down: 100 } },
    location: { country: "US", region: "us-east" },
  });
  await heartbeat(t, far.node.id, far.token, { metrics: { latencyMs: 80, connections: 10 } });
  const symmetric = await register(relayKey, "symmetric", {
    networkInfo: { natType: "Symmetric" },
    capabilities: { maxConnections: 100, bandwidth: { up: 1_000, down: 1_000 } },
    location: { country: "NL", region: "eu-west" },
  });
  await heartbeat(t, symmetric.node.id, symmetric.token, { metrics: { latency: 5, activeConnections: 0 } });
  const silent = await register(relayKey, "silent", { networkInfo: { natType: "Open" } });
  const peer = await register(peerKey, "peer", { networkInfo: { natType: "Open" } });
  await heartbeat(t, peer.node.id, peer.token, { metrics: { latency: 1 } });
  const client = await register(peerKey, "client", {
    networkInfo: { natType: "FullCone" },
    location: { country: "NL", region: "eu-west" },
  });
  return { networkId: net.id, client, near, far, symmetric, silent, peer };
}
