/**
 * Who a hub key rotation waits for, and who needs a hand. Pure.
 *
 * - `agent`: an enabled node whose own agent runs it (its key is the node's, it has a token and it
 *   has reported an applied config version): the rotation waits until it applied the config that
 *   names the hub's next key.
 * - `server`: an enabled node whose key the server holds: its new config is reissued after the switch
 *   (by email, or a one-time link).
 * - `manual`: an enabled node with neither: its owner must put the new hub key in its config by hand.
 */

export interface RotationNode {
  id: string;
  name: string;
  status: string;
  privateKeyEnc: string | null;
  tokenHash: string | null;
  configVersion: number;
  appliedConfigVersion: number | null;
}

export type RotationKind = "agent" | "server" | "manual";

/** The kind of an enabled node; undefined for a disabled one (it has no tunnel to keep). */
export function rotationKind(n: RotationNode): RotationKind | undefined {
  if (n.status === "disabled") return undefined;
  if (n.privateKeyEnc !== null) return "server";
  if (n.tokenHash !== null && n.appliedConfigVersion !== null) return "agent";
  return "manual";
}

export interface NodeRef {
  nodeId: string;
  name: string;
}

export interface WaitingAgent extends NodeRef {
  /** The config version (naming the next hub key) the node's agent must report applied. */
  configVersion: number;
  appliedConfigVersion: number | null;
}

export interface RotationAudience {
  /** Agent nodes that have not yet confirmed the next hub key. */
  waiting: WaitingAgent[];
  /** How many agent nodes confirmed it. */
  confirmed: number;
  serverHeld: NodeRef[];
  manual: NodeRef[];
}

/**
 * Splits a network's nodes by `rotationKind`. `versions`: the config version each agent node must
 * have applied (recorded when the rotation began); a node missing from it (enrolled since) must have
 * applied its current one.
 */
export function rotationAudience(
  nodes: readonly RotationNode[],
  versions: Readonly<Record<string, number>>,
): RotationAudience {
  const out: RotationAudience = { waiting: [], confirmed: 0, serverHeld: [], manual: [] };
  for (const n of nodes) {
    const kind = rotationKind(n);
    const ref = { nodeId: n.id, name: n.name };
    if (kind === "server") out.serverHeld.push(ref);
    else if (kind === "manual") out.manual.push(ref);
    else if (kind === "agent") {
      const needed = versions[n.id] ?? n.configVersion;
      if ((n.appliedConfigVersion ?? 0) >= needed) out.confirmed++;
      else out.waiting.push({ ...ref, configVersion: needed, appliedConfigVersion: n.appliedConfigVersion });
    }
  }
  return out;
}

/** Why a pending rotation switches now, or undefined while it must wait. */
export function switchReason(
  audience: Pick<RotationAudience, "waiting">,
  deadline: Date | null,
  now: Date,
): "confirmed" | "deadline" | undefined {
  if (audience.waiting.length === 0) return "confirmed";
  if (deadline !== null && deadline.getTime() <= now.getTime()) return "deadline";
  return undefined;
}
