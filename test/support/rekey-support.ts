/**
 * The shared setup of the node re-key API tests (test/apps/api/nodes/rekey.*): a platform with a
 * peer-sync worker and one network, agent nodes with key pairs made here, and signed rotations.
 */
import { afterAll, beforeAll } from "vitest";
import { generateKeyPair, signKeyRotation } from "../../src/wireguard/index.js";
import type { WorkerRuntime } from "../../workers/runtime.js";
import { createEnrollmentKey, createNetwork, registerNode } from "./mesh.js";
import type { TestPlatform } from "./platform.js";
import { createTestPlatform } from "./platform.js";
import { startTestWorkers } from "./workers.js";

export interface RekeySetup {
  t: TestPlatform;
  networkId: string;
  hubPublicKey: string;
  cidr4: string;
}

/**
 * Registers the file's beforeAll/afterAll: a test platform with a peer-sync worker (which answers at
 * once: no interface of the network is managed, so `hubApplied` is false) and one network. The
 * returned object is filled in beforeAll; read its fields inside tests.
 */
export function useRekeySetup(): RekeySetup {
  const setup = {} as RekeySetup;
  let workers: WorkerRuntime | undefined;
  beforeAll(async () => {
    setup.t = await createTestPlatform();
    workers = await startTestWorkers(setup.t.platform, { queues: ["peer-sync"] });
    const net = await createNetwork(setup.t);
    setup.networkId = net.id;
    setup.hubPublicKey = net.hubPublicKey;
    setup.cidr4 = net.cidr4;
  });
  afterAll(async () => {
    await workers?.close();
    await setup.t?.close();
  });
  return setup;
}

/** An agent node for re-key tests: registered with a key pair made here, as an agent does. */

export interface AgentNode {
  id: string;
  token: string;
  keys: { privateKey: string; publicKey: string };
}

export async function agentNode(t: TestPlatform, networkId: string): Promise<AgentNode> {
  const keys = generateKeyPair();
  const enrollmentKey = await createEnrollmentKey(t, networkId);
  const { node, token } = await registerNode(t, enrollmentKey, { publicKey: keys.publicKey });
  return { id: node.id, token, keys };
}

/** The body of a rotation of `node` from its current key to `next`, signed with `signer` (the current key by default). */
export function rotation(
  node: AgentNode,
  hubPublicKey: string,
  next: { publicKey: string },
  signer = node.keys.privateKey,
) {
  const claim = { nodeId: node.id, oldPublicKey: node.keys.publicKey, newPublicKey: next.publicKey };
  return { publicKey: next.publicKey, proof: signKeyRotation(claim, signer, hubPublicKey) };
}
