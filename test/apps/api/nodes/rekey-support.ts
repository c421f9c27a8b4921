/** An agent node for re-key tests: registered with a key pair made here, as an agent does. */
import { generateKeyPair, signKeyRotation } from "../../../../src/wireguard/index.js";
import { createEnrollmentKey, registerNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";

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
