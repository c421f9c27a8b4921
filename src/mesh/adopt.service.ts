/**
 * Adoption: the peers of an existing WireGuard interface become nodes of its network, read from the
 * live interface (by the peer-sync worker that owns it) or from its wg0.conf. It writes the
 * database only: the interface already holds these peers, so the next sync finds nothing to change
 * and no session is dropped.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { recordAudit } from "../audit/index.js";
import type { Tx } from "../db/index.js";
import { pipelined } from "../db/index.js";
import { DomainError } from "../errors.js";
import { MAX_WG_CONF_BYTES, parseWgConf, publicKeyOf } from "../wireguard/index.js";
import type { AdoptCandidate, AdoptedPeer, RefusedPeer } from "./adopt.js";
import { planAdoption } from "./adopt.js";
import { addressOnly, contains, parseCidr } from "./cidr.js";
import {
  actorOf,
  type MeshContext,
  type MeshCore,
  pickListenPort,
  translateConstraint,
} from "./mesh.core.js";
import type { NetworkRow } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";

const SECOND_MS = 1_000;

/** What the peer-sync worker answers to an `interface-peers` job (checked: it came through Redis). */
const InterfacePeersResult = z.object({
  managed: z.boolean(),
  iface: z.string().nullable(),
  publicKey: z.string().nullable(),
  listenPort: z.number().nullable(),
  peers: z.array(
    z.object({
      publicKey: z.string(),
      allowedIps: z.array(z.string()),
      endpoint: z.string().nullable(),
      hasPresharedKey: z.boolean(),
    }),
  ),
});

/** Where the peers come from: the live interface, or a wg0.conf's text. */
export type AdoptSource = { kind: "interface" } | { kind: "conf"; text: string };

/**
 * The hub's own identity named by a wg0.conf's `[Interface]`: its private key (a secret: never in an
 * answer, log, event or audit row) and listen port, imported when they differ from the network's.
 */
interface HubIdentity {
  privateKey: string;
  publicKey: string;
  listenPort: number | null;
}

/** What adoption does with the hub's key: null when the source names none. */
export type HubKeyOutcome = "matches" | "would be imported" | "imported" | null;

/** Said in every adoption result, so a client knows what an adopted node is. */
export const ADOPT_NOTES = [
  "adopted nodes hold no private key (each device keeps its own): their configs download as templates without one, and their devices keep the configs they run",
  "preshared keys are not managed by wiresync: a peer's preshared key stays on the interface as it is and is not stored",
] as const;

export interface AdoptResult {
  dryRun: boolean;
  source: "interface" | "conf";
  /** The interface read, for the interface source. */
  iface: string | null;
  counts: { seen: number; adopted: number; refused: number };
  /** Peers that are (or, in a dry run, would be) nodes now, with their node ids once adopted. */
  adopted: (AdoptedPeer & { id: string | null })[];
  refused: RefusedPeer[];
  /** A wg0.conf's `PrivateKey` against the network's hub key before adoption: null when the file names none. */
  hubKeyMatches: boolean | null;
  /**
   * A wg0.conf's `PrivateKey` (and `ListenPort`) other than the network's become the network's hub key
   * and port: "would be imported" in a dry run, "imported" after; "matches" when they are the network's.
   */
  hubKey: HubKeyOutcome;
  /** The network's hub public key and listen port after adoption (in a dry run: as they would be). */
  hubPublicKey: string;
  listenPort: number;
  configDownloadable: false;
  notes: string[];
}

export type AdoptService = ReturnType<typeof createAdoptService>;

/** Adoption of an existing interface's peers as nodes. */
export function createAdoptService(core: MeshCore, options: { readTimeoutMs?: number } = {}) {
  const { requireNetwork, emitNodeEvent, refreshConfigs, commitAndDispatch, db } = core;
  const readTimeoutMs = options.readTimeoutMs ?? 15 * SECOND_MS;

  /** The live interface's peers, read by the worker that owns it. */
  async function interfaceCandidates(network: NetworkRow) {
    let raw: unknown;
    try {
      raw = await core.deps.queue.runAndWait(
        "interface-peers",
        { networkId: network.id },
        { priority: "critical", timeoutMs: readTimeoutMs },
      );
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 200);
      throw new DomainError(
        "DEPENDENCY_UNAVAILABLE",
        `no peer-sync worker read the interface of ${network.name} within ${readTimeoutMs / SECOND_MS} s (${message}); is the interface up, and its worker running?`,
        { cause: err },
      );
    }
    const read = InterfacePeersResult.parse(raw);
    if (!read.managed) {
      throw new DomainError(
        "INTERFACE_NOT_MANAGED",
        `no worker manages a WireGuard interface for network ${network.name}; set WG_INTERFACES=${network.name}=<interface> on the hub's peer-sync worker, or send the interface's wg0.conf as the body`,
      );
    }
    if (read.publicKey !== network.hubPublicKey) {
      // Adopting would be undone by the next sync: it sets the network's hub key, and every device
      // configured with the interface's key would lose its tunnel.
      throw new DomainError(
        "CONFLICT",
        `interface ${read.iface} runs with another key than network ${network.name}'s hub key ${network.hubPublicKey}; adopting it would change its key at the next sync and drop every session; send the interface's wg0.conf (with its [Interface] PrivateKey) as the body instead, which imports its key as the hub's`,
        { context: { iface: read.iface } },
      );
    }
    const candidates: AdoptCandidate[] = read.peers.map((p) => ({
      publicKey: p.publicKey,
      allowedIps: p.allowedIps,
      // IMPORTANT: an interface reports the endpoint it last heard a peer from, which roams; pinned on
      // a node, every sync would write it back over a roamed one. Only a wg0.conf's Endpoint is kept.
      endpoint: null,
      hasPresharedKey: p.hasPresharedKey,
      comment: null,
    }));
    return { candidates, iface: read.iface, hubKeyMatches: true, hub: null };
  }

  function confCandidates(network: NetworkRow, text: string) {
    if (Buffer.byteLength(text) > MAX_WG_CONF_BYTES)
      throw new DomainError("PAYLOAD_TOO_LARGE", `a wg0.conf may be at most ${MAX_WG_CONF_BYTES} bytes`);
    const conf = parseWgConf(text);
    const candidates: AdoptCandidate[] = conf.peers.map((p) => ({
      publicKey: p.publicKey,
      allowedIps: p.allowedIps,
      endpoint: p.endpoint,
      hasPresharedKey: p.presharedKey !== null,
      comment: p.comment,
      line: p.line,
    }));
    const { privateKey, listenPort, addresses } = conf.interface;
    if (privateKey === null) return { candidates, iface: null, hubKeyMatches: null, hub: null };
    const publicKey = publicKeyOf(privateKey);
    const hubKeyMatches = publicKey === network.hubPublicKey;
    if (hubKeyMatches && (listenPort === null || listenPort === network.listenPort))
      return { candidates, iface: null, hubKeyMatches, hub: null };
    checkHubAddress(network, addresses);
    const hub: HubIdentity = { privateKey, publicKey, listenPort };
    return { candidates, iface: null, hubKeyMatches, hub };
  }

  /** A wg0.conf's `Address` lines must hold the network's hub address: the hub keeps its address. */
  function checkHubAddress(network: NetworkRow, addresses: readonly string[]) {
    const hubIp4 = addressOnly(network.hubIp4);
    const v4 = addresses.filter((a) => !a.includes(":"));
    if (v4.length === 0 || v4.some((a) => a.split("/")[0] === hubIp4)) return;
    const inside = v4.find((a) => contains(parseCidr(network.cidr4), a.split("/")[0]!));
    throw new DomainError(
      "CONFLICT",
      inside
        ? `the wg0.conf's Address ${v4.join(", ")} is not network ${network.name}'s hub address ${hubIp4}; set the interface's Address to ${hubIp4} (or adopt into a network whose hub address is ${inside.split("/")[0]})`
        : `the wg0.conf's Address ${v4.join(", ")} lies outside network ${network.name} (${network.cidr4}, hub ${hubIp4}); adopt it into a network whose range holds it`,
      { context: { addresses: v4, hubIp4 } },
    );
  }

  /**
   * Makes the wg0.conf's key and port the network's hub key and port, under the network's lock.
   * Only while the network has no nodes: a node's device already runs with the network's hub key,
   * and a new one would cut its tunnel. Throws CONFLICT (nodes exist) or LISTEN_PORT_TAKEN.
   */
  async function importHub(tx: Tx, network: NetworkRow, nodeCount: number, hub: HubIdentity, write: boolean) {
    if (nodeCount > 0)
      throw new DomainError(
        "CONFLICT",
        `network ${network.name} has ${nodeCount} nodes running with its hub key ${network.hubPublicKey}; the wg0.conf's PrivateKey can become the hub key only while a network has no nodes: adopt into a new network, or remove the PrivateKey line to adopt the peers alone`,
        { context: { nodeCount } },
      );
    const listenPort =
      hub.listenPort === null || hub.listenPort === network.listenPort
        ? network.listenPort
        : pickListenPort(await repo.lockListenPorts(tx, network.id), hub.listenPort);
    if (!write) return { ...network, hubPublicKey: hub.publicKey, listenPort };
    return (await repo.updateNetwork(tx, network.id, {
      hubPublicKey: hub.publicKey,
      hubPrivateKeyEnc: core.sealHubKey(network.id, hub.privateKey),
      listenPort,
    }))!;
  }

  return {
    /**
     * Adopts the peers of the network's interface (`source.kind === "interface"`) or of a wg0.conf as
     * nodes, in one transaction under the network's exclusive lock (enrollments wait): each with its
     * audit row and `node.enrolled` event (`via: "adopt"`), configs refreshed, and a peer sync queued,
     * which finds the interface already right. Peers that cannot be adopted are returned with their
     * reason and left alone. With `dryRun` nothing is written. Throws NETWORK_NOT_FOUND,
     * VALIDATION_FAILED (a wg0.conf that does not parse), PAYLOAD_TOO_LARGE, INTERFACE_NOT_MANAGED,
     * CONFLICT (the interface runs another key; a wg0.conf's hub key for a network with nodes, or its
     * `Address` not the hub's), LISTEN_PORT_TAKEN, DEPENDENCY_UNAVAILABLE (no worker answered).
     *
     * A wg0.conf whose `[Interface]` holds a `PrivateKey` (and `ListenPort`) other than the network's
     * brings the hub's identity too: the key is sealed as the network's hub key and the port becomes
     * its listen port, so the worker bound to that interface finds both right and changes nothing.
     */
    async adopt(
      networkId: string,
      source: AdoptSource,
      opts: { dryRun: boolean },
      ctx: MeshContext,
    ): Promise<AdoptResult> {
      const network = await requireNetwork(db, networkId);
      const read =
        source.kind === "conf" ? confCandidates(network, source.text) : await interfaceCandidates(network);
      const run = async (tx: Tx) => {
        const current = await requireNetwork(tx, networkId, opts.dryRun ? "none" : "update");
        const nodes = await repo.nodesOfNetwork(tx, networkId);
        const locked = read.hub
          ? await importHub(tx, current, nodes.length, read.hub, !opts.dryRun)
          : current;
        return {
          previousHubPublicKey: current.hubPublicKey,
          locked,
          plan: planAdoption(
            {
              cidr4: locked.cidr4,
              cidr6: locked.cidr6,
              hubIp4: addressOnly(locked.hubIp4),
              hubIp6: locked.hubIp6 ? addressOnly(locked.hubIp6) : null,
              hubPublicKey: locked.hubPublicKey,
              nodes: nodes.map((n) => ({
                publicKey: n.publicKey,
                name: n.name,
                ip4: addressOnly(n.ip4),
                ip6: n.ip6 ? addressOnly(n.ip6) : null,
                extraAllowedIps: n.extraAllowedIps,
              })),
            },
            read.candidates,
          ),
        };
      };
      const result = (
        adopted: AdoptResult["adopted"],
        refused: RefusedPeer[],
        network: NetworkRow,
      ): AdoptResult => ({
        dryRun: opts.dryRun,
        source: source.kind,
        iface: read.iface,
        counts: { seen: read.candidates.length, adopted: adopted.length, refused: refused.length },
        adopted,
        refused,
        hubKeyMatches: read.hubKeyMatches,
        hubKey: read.hub
          ? opts.dryRun
            ? "would be imported"
            : "imported"
          : read.hubKeyMatches
            ? "matches"
            : null,
        hubPublicKey: network.hubPublicKey,
        listenPort: network.listenPort,
        configDownloadable: false,
        notes: [...ADOPT_NOTES],
      });

      if (opts.dryRun) {
        const { plan, locked } = await core.inTx(run);
        return result(
          plan.adopt.map((p) => ({ ...p, id: null })),
          plan.refuse,
          locked,
        );
      }
      try {
        return await commitAndDispatch(`network ${networkId} adopted`, async (tx, effects) => {
          const { locked, plan, previousHubPublicKey } = await run(tx);
          const actor = actorOf(ctx);
          if (read.hub)
            await recordAudit(tx, {
              actor,
              action: "network.hub-key-imported",
              entityType: "network",
              entityId: networkId,
              // The public halves only: the private key is sealed on the network and nowhere else.
              details: {
                previousHubPublicKey,
                hubPublicKey: locked.hubPublicKey,
                listenPort: locked.listenPort,
              },
              requestId: ctx.requestId ?? null,
            });
          const adopted: AdoptResult["adopted"] = [];
          for (const peer of plan.adopt) {
            const id = randomUUID();
            const facts = {
              id,
              name: peer.name,
              email: null,
              networkId,
              ip4: peer.ip4,
              privateKeyEnc: null,
            };
            await pipelined([
              repo.insertNode(tx, {
                id,
                networkId,
                name: peer.name,
                email: null,
                publicKey: peer.publicKey,
                privateKeyEnc: null,
                // An adopted peer keeps the preshared key it has on the interface, unmanaged.
                presharedKeyEnc: null,
                presharedKeyManaged: false,
                ip4: peer.ip4,
                ip6: peer.ip6,
                endpoint: peer.endpoint,
                role: "peer",
                extraAllowedIps: peer.extraAllowedIps,
                tags: [],
                natType: null,
                networkInfo: {},
                capabilities: {},
                location: {},
                configHash: null,
                // No agent runs wiresync's token on an adopted device; one enrolls it with a key later.
                tokenHash: null,
                enrollmentKeyId: null,
              }),
              repo.unretirePeer(tx, networkId, peer.publicKey),
              recordAudit(tx, {
                actor,
                action: "node.created",
                entityType: "node",
                entityId: id,
                details: { name: peer.name, networkId, ip4: peer.ip4, serverKey: false, via: "adopt" },
                requestId: ctx.requestId ?? null,
              }),
              emitNodeEvent(tx, "node.enrolled", facts, locked, { via: "adopt" }, actor),
            ]);
            adopted.push({ ...peer, id });
          }
          await recordAudit(tx, {
            actor,
            action: "network.adopted",
            entityType: "network",
            entityId: networkId,
            details: {
              source: source.kind,
              seen: read.candidates.length,
              adopted: adopted.length,
              refused: plan.refuse.length,
            },
            requestId: ctx.requestId ?? null,
          });
          if (adopted.length > 0) await refreshConfigs(tx, locked, effects);
          if (adopted.length > 0 || read.hub) effects.syncNetworks.add(networkId);
          return result(adopted, plan.refuse, locked);
        });
      } catch (err) {
        translateConstraint(err, {});
      }
    },
  };
}
