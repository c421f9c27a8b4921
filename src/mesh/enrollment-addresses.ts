/**
 * What an enrollment prepares outside its transaction: the node's identity and credentials
 * (`prepareNode`), and its addresses (`allocatePair` from a read, `allocateKnownPair` from what this
 * process knows of the network, `createKnownAddresses`). `claims` holds the addresses this process is
 * enrolling nodes at right now, per network: enrollments into a hub network run side by side (under
 * a shared lock of the network row), so each picks the lowest free address that no other enrollment
 * of this process is inserting, instead of all picking the same one and queueing on the unique
 * constraint. Only a hint that saves collisions: the unique constraint on (network, address) stays
 * what makes addresses race-free (other processes, or a read that missed a commit, end there and the
 * unit of work allocates again).
 */
import { randomUUID } from "node:crypto";
import { generateNodeToken } from "../auth/index.js";
import { sha256Hex } from "../crypto/index.js";
import type { Executor } from "../db/index.js";
import { DomainError } from "../errors.js";
import { generateKeyPair } from "../wireguard/index.js";
import { parseCidr } from "./cidr.js";
import { type AddressPool, allocateAddress, createAddressPool } from "./ipam.js";
import type { EnrollmentRead, NetworkRow, UsedAddresses } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";

/** One enrollment's claims; `release` once its transaction is over (committed or rolled back). */
export interface ClaimSession {
  /** Claims `addresses` in `networkId`, dropping what this session claimed before (a retried attempt). */
  claim(networkId: string, addresses: readonly string[]): void;
  release(): void;
}

export type AddressClaims = ReturnType<typeof createAddressClaims>;

export function createAddressClaims() {
  /** Network → address → the release of the claim holding it. */
  const held = new Map<string, Map<string, Promise<void>>>();

  return {
    /** The addresses claimed in `networkId` by enrollments in flight here. */
    claimedIn(networkId: string): string[] {
      return [...(held.get(networkId)?.keys() ?? [])];
    },

    /** Resolves once every claim held in `networkId` now has been released. */
    async settled(networkId: string): Promise<void> {
      await Promise.all(held.get(networkId)?.values() ?? []);
    },

    session(): ClaimSession {
      let mine:
        | { networkId: string; addresses: readonly string[]; settled: Promise<void>; done: () => void }
        | undefined;
      const release = () => {
        if (!mine) return;
        const claims = held.get(mine.networkId);
        for (const a of mine.addresses) if (claims?.get(a) === mine.settled) claims.delete(a);
        if (claims?.size === 0) held.delete(mine.networkId);
        mine.done();
        mine = undefined;
      };
      return {
        claim(networkId, addresses) {
          release();
          let done!: () => void;
          const settled = new Promise<void>((r) => {
            done = r;
          });
          let claims = held.get(networkId);
          if (!claims) {
            claims = new Map();
            held.set(networkId, claims);
          }
          for (const a of addresses) claims.set(a, settled);
          mine = { networkId, addresses, settled, done };
        },
        release,
      };
    },
  };
}

/**
 * The lowest free address pair of `network` that no enrollment in flight here has claimed, claimed
 * for `session` (in place of what it claimed before). When only claimed addresses are left, waits for
 * those enrollments to end and reads again (a failed one frees its address). Throws
 * ADDRESS_POOL_EXHAUSTED.
 */
export function allocatePair(
  claims: AddressClaims,
  tx: Executor,
  network: NetworkRow,
  first: Pick<UsedAddresses, "ip4" | "ip6">,
  session: ClaimSession,
): Promise<{ ip4: string; ip6: string | null }> {
  let used = first;
  return claimLowestPair(
    claims,
    network.id,
    session,
    (claimed) => ({
      ip4: allocateAddress(parseCidr(network.cidr4), [...used.ip4, network.hubIp4, ...claimed]),
      ip6: network.cidr6
        ? allocateAddress(
            parseCidr(network.cidr6),
            [...used.ip6, network.hubIp6 ?? "", ...claimed].filter(Boolean),
          )
        : null,
    }),
    async () => {
      used = await repo.usedAddresses(tx, network.id);
    },
  );
}

/**
 * `allocatePair` from what this process knows of the network (`known`), without reading: an
 * enrollment that succeeded added its address to `known` before letting its claim go.
 */
export function allocateKnownPair(
  claims: AddressClaims,
  known: KnownNetwork,
  session: ClaimSession,
): Promise<{ ip4: string; ip6: string | null }> {
  return claimLowestPair(claims, known.network.id, session, (claimed) => ({
    ip4: known.ip4.lowestFree(claimed),
    ip6: known.ip6 ? known.ip6.lowestFree(claimed) : null,
  }));
}

/**
 * Both allocations' claiming: `pick` the lowest pair apart from the addresses claimed in flight and
 * claim it for `session`; when only claimed ones are left, wait for those enrollments to end, let
 * `refresh` read what they left, and pick again.
 */
async function claimLowestPair(
  claims: AddressClaims,
  networkId: string,
  session: ClaimSession,
  pick: (claimed: string[]) => { ip4: string; ip6: string | null },
  refresh?: () => Promise<void>,
): Promise<{ ip4: string; ip6: string | null }> {
  session.release(); // a retried attempt's claim: its transaction or statement is over
  for (;;) {
    const claimed = claims.claimedIn(networkId);
    try {
      const pair = pick(claimed);
      session.claim(networkId, pair.ip6 ? [pair.ip4, pair.ip6] : [pair.ip4]);
      return pair;
    } catch (err) {
      if (!(err instanceof DomainError && err.code === "ADDRESS_POOL_EXHAUSTED") || claimed.length === 0)
        throw err;
    }
    await claims.settled(networkId);
    await refresh?.();
  }
}

/** How many networks `createKnownAddresses` keeps; the least recently read go first. */
const KNOWN_NETWORKS = 256;

/** A network as this process knows it at one version of its row (`createKnownAddresses`). */
export interface KnownNetwork {
  network: NetworkRow;
  /** The row's version (`xmin`) all of this is known for. */
  version: string;
  /** Some node carries routes for others. */
  hasRoutes: boolean;
  /** The addresses in use, as read with this version and added by enrollments of this process since. */
  ip4: AddressPool;
  ip6: AddressPool | undefined;
}

export type KnownAddresses = ReturnType<typeof createKnownAddresses>;

/**
 * Per network, its row, whether a node carries routes, and the addresses in use, as of one version
 * of its row (`xmin`), with those enrollments of this process inserted since: an enrollment into a
 * known network writes at once (`insertNodeAtOnce` at that version), with no read before.
 *
 * Sound because whatever changes the row, frees an address or changes routes (a deletion, a move, a
 * new route) either updates the row or holds its exclusive lock, which makes a new version, and the
 * statement writes only while the row is still at the version known (checked under its share lock).
 * What it can miss is an address another process (or this one's transactional path) took
 * meanwhile: the insert ends at the unique constraint, and `forget` makes the next read whole.
 */
export function createKnownAddresses() {
  const known = new Map<string, KnownNetwork>();
  return {
    /** What is known of `networkId`, at some version that may have moved on since. */
    get(networkId: string): KnownNetwork | undefined {
      return known.get(networkId);
    },

    /** The version `networkId` is known for; "" when none. */
    versionOf(networkId: string): string {
      return known.get(networkId)?.version ?? "";
    },

    /**
     * `read`'s network as known from now on: with the addresses read with it, or those known for
     * its version when it left them out; undefined when it did and they are not known for it (the
     * version known moved on between read and now: read them).
     */
    learn(read: EnrollmentRead): KnownNetwork | undefined {
      const id = read.network.id;
      const entry = known.get(id);
      if (entry?.version === read.version) {
        // Within one version addresses are only ever added: a read that began before others'
        // inserts were known here must not drop them.
        for (const a of read.used?.ip4 ?? []) entry.ip4.add(a);
        for (const a of read.used?.ip6 ?? []) entry.ip6?.add(a);
        return entry;
      }
      if (!read.used) return undefined;
      const { network } = read;
      const fresh: KnownNetwork = {
        network,
        version: read.version,
        hasRoutes: read.used.hasRoutes,
        ip4: createAddressPool(parseCidr(network.cidr4), [network.hubIp4, ...read.used.ip4]),
        ip6: network.cidr6
          ? createAddressPool(
              parseCidr(network.cidr6),
              network.hubIp6 ? [network.hubIp6, ...read.used.ip6] : read.used.ip6,
            )
          : undefined,
      };
      known.delete(id);
      known.set(id, fresh);
      if (known.size > KNOWN_NETWORKS) known.delete(known.keys().next().value!);
      return fresh;
    },

    /** Records addresses inserted into `networkId` while its row was at `version`. */
    add(networkId: string, version: string, ip4: string, ip6: string | null): void {
      const entry = known.get(networkId);
      if (entry?.version !== version) return;
      entry.ip4.add(ip4);
      if (ip6) entry.ip6?.add(ip6);
    },

    /**
     * Drops what is known of `networkId` at `version` (it moved on, or an address turned out taken):
     * its next read is whole. What was learnt since, at another version, stays.
     */
    forget(networkId: string, version: string): void {
      if (known.get(networkId)?.version === version) known.delete(networkId);
    },
  };
}

/** A node's identity and credentials, made before its enrollment's transaction. */
export interface PreparedNode {
  id: string;
  publicKey: string;
  /** The server-made private key, returned once in the config; absent for a client-made key. */
  privateKey: string | undefined;
  privateKeyEnc: string | null;
  token: string;
  tokenHash: string;
}

/**
 * What an enrollment computes before any transaction, so none of it runs while the network is
 * locked: the node's id, its key pair when the server makes it (sealed), and its token.
 */
export function prepareNode(
  publicKey: string | undefined,
  sealNodeKey: (nodeId: string, privateKey: string) => string,
  /** A client-chosen id (agent registration); a fresh one otherwise. */
  id: string = randomUUID(),
): PreparedNode {
  const generated = publicKey ? undefined : generateKeyPair();
  const token = generateNodeToken();
  return {
    id,
    publicKey: publicKey ?? generated!.publicKey,
    privateKey: generated?.privateKey,
    privateKeyEnc: generated ? sealNodeKey(id, generated.privateKey) : null,
    token,
    tokenHash: sha256Hex(token),
  };
}
