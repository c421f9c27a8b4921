/**
 * Re-keying nodes without a gap.
 *
 * An agent node makes its new key pair itself and sends the new public key with its token and a
 * proof that it holds the current private key (`verifyKeyRotation`, src/wireguard/key-proof.ts).
 * The change is committed, the hub's interface is synced at once and the answer waits for it, so
 * the hub already knows the new key when the agent switches its interface to it: the node's first
 * packet under the new key completes a handshake at once. The node's addresses move to the new key
 * in that sync; the previous key stays on the hub, without addresses, until the hub has seen the
 * new key shake hands (`rotatingKeys`), and then leaves it like any retired key. An operator asks
 * for a rotation (`requestRotation`) and the agent does it at its next heartbeat.
 *
 * A node whose key the server made is re-keyed by the server: a new pair, sealed at rest, and the
 * node's owner gets the new config by email (when the node has an address) or the operator gets a
 * one-time config link. The private key itself is never in an answer.
 */
import { recordAudit } from "../audit/index.js";
import type { Tx } from "../db/index.js";
import { DomainError } from "../errors.js";
import { emitEvent } from "../events/index.js";
import { generateKeyPair, verifyKeyRotation } from "../wireguard/index.js";
import type { ConfigLinkService, CreatedConfigLink } from "./config-links.service.js";
import type { MeshEffects } from "./effects.js";
import { dispatchEffects, newEffects } from "./effects.js";
import type { NodeRef, RotationAudience, WaitingAgent } from "./hub-key-rotation.js";
import { rotationAudience, rotationKind, switchReason } from "./hub-key-rotation.js";
import { actorOf, hubKeyTaken, type MeshContext, type MeshCore, translateConstraint } from "./mesh.core.js";
import type { NetworkRow, NodeRow } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";
import type { NetworkView, NodeView } from "./views.js";
import { toNetworkView, toNodeView } from "./views.js";

const SECOND_MS = 1_000;
/** How long a key rotation waits for the hub's interface to hold the new key before answering. */
export const HUB_APPLY_WAIT_MS = 15 * SECOND_MS;
/** How long the one-time link to a re-keyed node's new config lives. */
export const REKEY_LINK_TTL_SECONDS = 24 * 60 * 60;

export interface AgentKeyRotation {
  /** The node's new public key (base64). */
  publicKey: string;
  /** `signKeyRotation({ nodeId, oldPublicKey, newPublicKey }, current private key, hub public key)`. */
  proof: string;
}

export interface RotatedKey {
  node: NodeView;
  /** True when the hub's interface held the new key before this answer. */
  hubApplied: boolean;
}

/** What an operator's re-key did. */
export type RekeyOutcome =
  | { mode: "agent"; node: NodeView }
  | { mode: "server"; node: NodeView; delivery: { email: string } | { link: CreatedConfigLink } };

/** A node whose key the server holds, after its hub's key rotated: how its new config reaches it. */
export interface ReissuedConfig {
  nodeId: string;
  name: string;
  delivery: { email: string } | { link: CreatedConfigLink };
}

/** How long a hub key rotation waits for agents to confirm the next key, unless told otherwise. */
export const HUB_KEY_ROTATION_DEADLINE_SECONDS = 10 * 60;

/** A network's hub key rotation: under way (`pending`) or not. Never a private key. */
export interface HubKeyRotationState {
  networkId: string;
  pending: boolean;
  hubPublicKey: string;
  nextHubPublicKey: string | null;
  startedAt: Date | null;
  /** When the hub switches to the next key even if some agents have not confirmed it. */
  deadline: Date | null;
  /** Agent nodes still to confirm the next key (empty when none is pending). */
  waiting: WaitingAgent[];
  confirmed: number;
  /** Enabled nodes whose key the server holds: their config is reissued after the switch. */
  serverHeld: NodeRef[];
  /** Enabled nodes with neither an agent nor a server-held key: they need the new hub key by hand. */
  manual: NodeRef[];
}

/** What switching a hub key did. */
export interface HubKeySwitch {
  network: NetworkView;
  previousHubPublicKey: string;
  /** Every enabled node whose key the server holds: its new config goes by email or a one-time link. */
  reissued: ReissuedConfig[];
  /** Enabled nodes that must be given the new hub key by hand. */
  manual: NodeRef[];
}

/** What a rotate call did: started a rotation (`switched` absent) or switched the hub key at once. */
export interface HubKeyRotation {
  state: HubKeyRotationState;
  switched?: HubKeySwitch;
}

/** How each of `nodes` (server-held nodes whose config changed) gets its new config: its email, or a one-time link. */
export async function reissue(
  links: ConfigLinkService,
  nodes: readonly NodeRow[],
  ctx: MeshContext,
): Promise<ReissuedConfig[]> {
  const out: ReissuedConfig[] = [];
  for (const n of nodes) {
    const delivery = n.email
      ? { email: n.email }
      : { link: await links.create(n.id, REKEY_LINK_TTL_SECONDS, ctx) };
    out.push({ nodeId: n.id, name: n.name, delivery });
  }
  return out;
}

export type RekeyService = ReturnType<typeof createRekeyService>;

const unproven = () =>
  new DomainError(
    "NODE_IDENTITY_UNPROVEN",
    "the proof does not match this node's current key: sign the rotation with the node's current private key and its hub's public key",
  );

/** Re-keying agent-held and server-held node keys (see the module doc). */
export function createRekeyService(
  core: MeshCore,
  links: ConfigLinkService,
  options: { hubApplyWaitMs?: number } = {},
) {
  const {
    commitAndDispatch,
    requireNode,
    requireNetwork,
    refreshConfigs,
    emitNodeEvent,
    openHubKey,
    sealHubKey,
  } = core;
  const hubApplyWaitMs = options.hubApplyWaitMs ?? HUB_APPLY_WAIT_MS;

  /**
   * Moves the node to `publicKey` in `tx`: the old key becomes the previous one (kept on the hub
   * without addresses until the new one shakes hands) and is retired; the node's config is refreshed.
   * Throws PUBLIC_KEY_TAKEN when the key is the hub's or was a key of this network before.
   */
  async function switchKey(
    tx: Tx,
    effects: MeshEffects,
    node: NodeRow,
    network: NetworkRow,
    publicKey: string,
    privateKeyEnc: string | null,
    ctx: MeshContext,
    by: "agent" | "server",
  ): Promise<NodeRow> {
    if (publicKey === network.hubPublicKey) throw hubKeyTaken();
    if ((await repo.retiredKeys(tx, network.id)).includes(publicKey)) {
      throw new DomainError(
        "PUBLIC_KEY_TAKEN",
        "this public key was used in this network before; generate a new key pair",
      );
    }
    const now = new Date();
    await repo.updateNode(tx, node.id, {
      publicKey,
      privateKeyEnc,
      previousPublicKey: node.publicKey,
      keyRotatedAt: now,
      keyRotationRequestedAt: null,
    });
    await repo.retirePeers(tx, network.id, [node.publicKey]);
    await refreshConfigs(tx, network, effects, new Set([node.id]));
    // Read again: the refresh bumped the config version.
    const row = (await repo.getNode(tx, node.id))!;
    await recordAudit(tx, {
      actor: actorOf(ctx),
      action: "node.key-rotated",
      entityType: "node",
      entityId: node.id,
      details: { previousPublicKey: node.publicKey, publicKey, by },
      requestId: ctx.requestId ?? null,
    });
    // `newConfig`: the node's owner needs the new config (src/notify emails it to the node's address).
    const extra = { changed: ["publicKey"], rekeyed: true, keyRotated: by, newConfig: by === "server" };
    await emitNodeEvent(tx, "node.updated", row, network, extra, actorOf(ctx));
    return row;
  }

  /**
   * Syncs the network's hub interface and waits for it (at most `hubApplyWaitMs`). True when a
   * worker serving the interface applied it; false otherwise, and the usual trigger is queued so the
   * change still lands (the scheduled reconcile repairs a lost one too).
   */
  async function syncHubNow(networkId: string, reason: string): Promise<boolean> {
    try {
      const result = (await core.deps.queue.runAndWait(
        "network-sync",
        { networkId, reason },
        { priority: "critical", timeoutMs: hubApplyWaitMs },
      )) as { managed?: unknown } | undefined;
      if (result?.managed === true) return true;
    } catch (err) {
      core.report(err, { networkId });
    }
    const effects = newEffects(reason);
    effects.syncNetworks.add(networkId);
    await dispatchEffects(core.deps.queue, effects, core.report);
    return false;
  }

  /** The state of `network`'s rotation, from its nodes as `exec` reads them. */
  async function readState(exec: Tx | typeof core.db, network: NetworkRow): Promise<HubKeyRotationState> {
    const audience =
      network.hubNextPublicKey === null
        ? { waiting: [], confirmed: 0, serverHeld: [], manual: [] }
        : rotationAudience(await repo.nodesOfNetwork(exec, network.id), network.hubKeyRotationVersions ?? {});
    return stateOf(network, audience);
  }

  function stateOf(network: NetworkRow, audience: RotationAudience): HubKeyRotationState {
    return {
      networkId: network.id,
      pending: network.hubNextPublicKey !== null,
      hubPublicKey: network.hubPublicKey,
      nextHubPublicKey: network.hubNextPublicKey,
      startedAt: network.hubKeyRotationStartedAt,
      deadline: network.hubKeyRotationDeadline,
      ...audience,
    };
  }

  /**
   * Makes the network's next key its hub key in `tx` (the row locked): configs name the new key, the
   * hub's interface is synced, the owners of server-held nodes with an address are emailed their new
   * config, and the switch is audited and announced (`network.hub-key-rotated`).
   */
  async function switchInTx(
    tx: Tx,
    effects: MeshEffects,
    before: NetworkRow,
    reason: "confirmed" | "deadline" | "forced",
    ctx: MeshContext,
  ): Promise<{
    network: NetworkRow;
    previousHubPublicKey: string;
    serverHeld: NodeRow[];
    manual: NodeRef[];
  }> {
    const network = (await repo.updateNetwork(tx, before.id, {
      hubPublicKey: before.hubNextPublicKey!,
      hubPrivateKeyEnc: before.hubNextPrivateKeyEnc!,
      hubNextPublicKey: null,
      hubNextPrivateKeyEnc: null,
      hubKeyRotationStartedAt: null,
      hubKeyRotationDeadline: null,
      hubKeyRotationVersions: null,
    }))!;
    await refreshConfigs(tx, network, effects);
    effects.syncNetworks.add(network.id);
    const rows = await repo.nodesOfNetwork(tx, network.id);
    const audience = rotationAudience(rows, before.hubKeyRotationVersions ?? {});
    const serverHeldIds = new Set(audience.serverHeld.map((n) => n.nodeId));
    const serverHeld = rows.filter((n) => serverHeldIds.has(n.id));
    const details = {
      previousHubPublicKey: before.hubPublicKey,
      hubPublicKey: network.hubPublicKey,
      reason,
      unconfirmed: audience.waiting.map((n) => n.nodeId),
      manual: audience.manual.map((n) => n.nodeId),
    };
    await recordAudit(tx, {
      actor: actorOf(ctx),
      action: "network.hub-key-rotated",
      entityType: "network",
      entityId: network.id,
      details,
      requestId: ctx.requestId ?? null,
    });
    await emitEvent(
      tx,
      {
        type: "network.hub-key-rotated",
        data: { network: { id: network.id, name: network.name }, ...details, manual: audience.manual },
      },
      { source: actorOf(ctx) },
    );
    for (const n of serverHeld.filter((m) => m.email)) {
      const extra = { changed: ["hubPublicKey"], newConfig: true };
      await emitNodeEvent(tx, "node.updated", n, network, extra, actorOf(ctx));
    }
    return { network, previousHubPublicKey: before.hubPublicKey, serverHeld, manual: audience.manual };
  }

  /** Made after the commit: a link's own unit of work must not wait on the switch's. */
  async function delivered(
    switched: Awaited<ReturnType<typeof switchInTx>>,
    ctx: MeshContext,
  ): Promise<HubKeySwitch> {
    return {
      network: toNetworkView(switched.network),
      previousHubPublicKey: switched.previousHubPublicKey,
      reissued: await reissue(links, switched.serverHeld, ctx),
      manual: switched.manual,
    };
  }

  /**
   * Switches the network's pending rotation when `switchReason` says so (the deadline only when
   * `deadlines`). No one-time links are made (nobody would see them): server-held nodes without an
   * address get theirs from an admin (POST /api/v1/nodes/{id}/config/link).
   */
  async function switchIfDue(networkId: string, now: Date, deadlines: boolean): Promise<boolean> {
    return commitAndDispatch(`network ${networkId} hub key switch`, async (tx, effects) => {
      const network = await repo.getNetwork(tx, networkId, { forUpdate: true });
      if (!network || network.hubNextPublicKey === null) return false;
      const audience = rotationAudience(
        await repo.nodesOfNetwork(tx, networkId),
        network.hubKeyRotationVersions ?? {},
      );
      const reason = switchReason(audience, deadlines ? network.hubKeyRotationDeadline : null, now);
      if (!reason) return false;
      await switchInTx(tx, effects, network, reason, {});
      return true;
    });
  }

  return {
    /**
     * Starts rotating a network's hub key (see the module doc): the next key pair is sealed beside
     * the current one and every config names it; the switch follows once every agent node applied
     * it, or at the deadline (`deadlineSeconds` from now). With `now`, or when no agent node has to
     * confirm, it switches at once (a pending rotation too). Throws NETWORK_NOT_FOUND,
     * HUB_KEY_ROTATION_PENDING (one is under way and `now` is not set).
     */
    async rotateHubKey(
      networkId: string,
      options: { deadlineSeconds?: number | undefined; now?: boolean | undefined },
      ctx: MeshContext,
    ): Promise<HubKeyRotation> {
      const deadlineSeconds = options.deadlineSeconds ?? HUB_KEY_ROTATION_DEADLINE_SECONDS;
      const result = await commitAndDispatch(`network ${networkId} hub key rotation`, async (tx, effects) => {
        let network = await requireNetwork(tx, networkId, true);
        if (network.hubNextPublicKey !== null && !options.now) {
          throw new DomainError(
            "HUB_KEY_ROTATION_PENDING",
            `a hub key rotation of network ${network.name} is under way (next key ${network.hubNextPublicKey}, deadline ${network.hubKeyRotationDeadline?.toISOString()}): follow it at GET /api/v1/networks/${networkId}/hub-key-rotation, or switch it at once with ?now=true`,
          );
        }
        if (network.hubNextPublicKey === null) {
          const next = generateKeyPair();
          const startedAt = new Date();
          network = (await repo.updateNetwork(tx, networkId, {
            hubNextPublicKey: next.publicKey,
            hubNextPrivateKeyEnc: sealHubKey(networkId, next.privateKey),
            hubKeyRotationStartedAt: startedAt,
            hubKeyRotationDeadline: new Date(startedAt.getTime() + deadlineSeconds * SECOND_MS),
          }))!;
          const agents = (await repo.nodesOfNetwork(tx, networkId)).some((n) => rotationKind(n) === "agent");
          // Nobody to wait for (or told not to): the next key becomes the hub key in this transaction.
          if (options.now || !agents) {
            const switched = await switchInTx(
              tx,
              effects,
              network,
              options.now ? "forced" : "confirmed",
              ctx,
            );
            return { state: await readState(tx, switched.network), switched };
          }
          await refreshConfigs(tx, network, effects);
          const rows = await repo.nodesOfNetwork(tx, networkId);
          const versions: Record<string, number> = {};
          for (const n of rotationAudience(rows, {}).waiting) versions[n.nodeId] = n.configVersion;
          network = (await repo.updateNetwork(tx, networkId, { hubKeyRotationVersions: versions }))!;
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "network.hub-key-rotation-started",
            entityType: "network",
            entityId: networkId,
            details: {
              hubPublicKey: network.hubPublicKey,
              nextHubPublicKey: next.publicKey,
              deadline: network.hubKeyRotationDeadline?.toISOString(),
            },
            requestId: ctx.requestId ?? null,
          });
          return { state: stateOf(network, rotationAudience(rows, versions)), switched: undefined };
        }
        const switched = await switchInTx(tx, effects, network, options.now ? "forced" : "confirmed", ctx);
        return { state: await readState(tx, switched.network), switched };
      });
      if (!result.switched) return { state: result.state };
      return { state: result.state, switched: await delivered(result.switched, ctx) };
    },

    /** The network's hub key rotation, under way or not. Throws NETWORK_NOT_FOUND. */
    async hubKeyRotation(networkId: string): Promise<HubKeyRotationState> {
      return readState(core.db, await requireNetwork(core.db, networkId));
    },

    /**
     * A node of `networkId` reported a config version it applied: switches the network's hub key
     * when a rotation is under way and every agent node has now confirmed the next key. Returns true
     * when it switched. One row read when no rotation is under way.
     */
    async hubKeyConfirmed(networkId: string): Promise<boolean> {
      const network = await repo.getNetwork(core.db, networkId);
      if (!network || network.hubNextPublicKey === null) return false;
      return switchIfDue(networkId, new Date(), false);
    },

    /**
     * The scheduler's tick: switches every pending hub key rotation whose agents all confirmed or
     * whose deadline passed. Returns the ids of the networks switched.
     */
    async switchDueHubKeys(now = new Date()): Promise<string[]> {
      const switched: string[] = [];
      for (const id of await repo.networksRotatingHubKey(core.db)) {
        try {
          if (await switchIfDue(id, now, true)) switched.push(id);
        } catch (err) {
          core.report(err, { networkId: id });
        }
      }
      return switched;
    },

    /**
     * An agent node's own rotation to `input.publicKey`, authorised by its token (the caller's) and
     * by the proof of its current key. Answers once the hub's interface holds the new key (or the
     * wait ran out: `hubApplied` false). Repeating the same rotation after a lost answer answers the
     * same; a proof for a key that is no longer current is refused. Throws NODE_NOT_FOUND,
     * NODE_IDENTITY_UNPROVEN (403), CONFLICT (the server holds this node's key), VALIDATION_FAILED
     * (the new key is the current one), PUBLIC_KEY_TAKEN.
     */
    async rotateAgentKey(nodeId: string, input: AgentKeyRotation, ctx: MeshContext): Promise<RotatedKey> {
      const outcome = await (async () => {
        try {
          return await commitAndDispatch(`node ${nodeId} key rotated`, async (tx, effects) => {
            const node = await requireNode(tx, nodeId, true);
            const network = await requireNetwork(tx, node.networkId, true);
            if (node.privateKeyEnc !== null) {
              throw new DomainError(
                "CONFLICT",
                "the server holds this node's key: an admin re-keys it (POST /api/v1/nodes/{id}/rekey)",
              );
            }
            const hubPrivateKey = openHubKey(network.id, network.hubPrivateKeyEnc);
            const claimFrom = (oldPublicKey: string) => ({
              nodeId,
              oldPublicKey,
              newPublicKey: input.publicKey,
            });
            if (input.publicKey === node.publicKey) {
              // A retry of the rotation that just happened: the same proof, over the previous key.
              if (
                node.previousPublicKey &&
                verifyKeyRotation(claimFrom(node.previousPublicKey), input.proof, hubPrivateKey)
              )
                return { row: node, repeated: true };
              throw new DomainError(
                "VALIDATION_FAILED",
                "publicKey is the node's current key; generate a new key pair",
              );
            }
            if (!verifyKeyRotation(claimFrom(node.publicKey), input.proof, hubPrivateKey)) throw unproven();
            const row = await switchKey(tx, effects, node, network, input.publicKey, null, ctx, "agent");
            return { row, repeated: false };
          });
        } catch (err) {
          translateConstraint(err, { publicKey: input.publicKey });
        }
      })();
      const hubApplied = await syncHubNow(outcome.row.networkId, `node ${nodeId} key rotated`);
      return { node: toNodeView(outcome.row), hubApplied };
    },

    /**
     * An operator's re-key. An agent node is asked to rotate at its next heartbeat (`mode: "agent"`).
     * A node whose key the server made gets a new pair at once (`mode: "server"`): its new config is
     * emailed to the node's address, or, without one, a one-time link to it is made (its token is in
     * this answer only). Throws NODE_NOT_FOUND, CONFLICT (a node whose key only its owner knows and
     * that has no agent: set its new public key with PATCH).
     */
    async requestRotation(nodeId: string, ctx: MeshContext): Promise<RekeyOutcome> {
      const result = await commitAndDispatch(`node ${nodeId} re-keyed`, async (tx, effects) => {
        const node = await requireNode(tx, nodeId, true);
        const network = await requireNetwork(tx, node.networkId, true);
        if (node.privateKeyEnc === null) {
          if (node.tokenHash === null) {
            throw new DomainError(
              "CONFLICT",
              "this node's private key is its owner's and it has no agent to rotate it: set its new public key with PATCH /api/v1/nodes/{id}",
            );
          }
          const row = (await repo.updateNode(tx, nodeId, {
            keyRotationRequestedAt: node.keyRotationRequestedAt ?? new Date(),
          }))!;
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "node.key-rotation-requested",
            entityType: "node",
            entityId: nodeId,
            details: { networkId: network.id },
            requestId: ctx.requestId ?? null,
          });
          return { mode: "agent" as const, row };
        }
        const keys = generateKeyPair();
        const sealed = core.sealNodeKey(nodeId, keys.privateKey);
        const row = await switchKey(tx, effects, node, network, keys.publicKey, sealed, ctx, "server");
        effects.syncNetworks.add(network.id);
        return { mode: "server" as const, row };
      });
      const node = toNodeView(result.row);
      if (result.mode === "agent") return { mode: "agent", node };
      // The node.updated event of the switch queues the email to the node's address (src/notify);
      // a link is made after the commit: its own unit of work must not wait on the re-key's.
      const [reissued] = await reissue(links, [result.row], ctx);
      return { mode: "server", node, delivery: reissued!.delivery };
    },
  };
}
