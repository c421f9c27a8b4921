/**
 * The data of the `node.*` events the mesh emits, built from rows. Pure. An event names the node and
 * its network, never a key, token, token hash or ciphertext: `nodeEventData` picks fields one by one
 * rather than spreading a row, so a new secret column can never leak into the outbox.
 */
import { addressOnly } from "./cidr.js";
import type { NetworkRow, NodeRow } from "./mesh.repo.js";

/** The node as every `node.*` event carries it (what src/notify's fan-out and templates read). */
export interface NodeEventNode {
  id: string;
  name: string;
  /** Only when the node has one. */
  email?: string;
  networkId: string;
  ip4: string;
  /** True when the server holds the node's private key (a node-config email can be sent). */
  hasServerKey: boolean;
}

export interface NodeEventData {
  node: NodeEventNode;
  network: { id: string; name: string };
  [extra: string]: unknown;
}

/** What a node event tells of its node: all known before the node's row is written. */
export type NodeFacts = Pick<NodeRow, "id" | "name" | "email" | "networkId" | "ip4" | "privateKeyEnc">;

/** `{ node, network, ...extra }` for an event about `node`. */
export function nodeEventData(
  node: NodeFacts,
  network: Pick<NetworkRow, "id" | "name">,
  extra: Record<string, unknown> = {},
): NodeEventData {
  return {
    ...extra,
    node: {
      id: node.id,
      name: node.name,
      ...(node.email ? { email: node.email } : {}),
      networkId: node.networkId,
      ip4: addressOnly(node.ip4),
      hasServerKey: node.privateKeyEnc !== null,
    },
    network: { id: network.id, name: network.name },
  };
}

/** JSON with object keys sorted: jsonb does not keep key order, so compare values in this form. */
function canonical(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The names of the fields of `patch` whose value differs from `before`, sorted. Names only: an
 * event says that `publicKey` changed, never to what.
 */
export function changedFields(before: Partial<NodeRow>, patch: Partial<NodeRow>): string[] {
  return Object.entries(patch)
    .filter(
      ([key, value]) => value !== undefined && canonical(before[key as keyof NodeRow]) !== canonical(value),
    )
    .map(([key]) => key)
    .sort();
}
