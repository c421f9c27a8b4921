/**
 * Node tokens (`wsn_…`): the credential a node's agent sends on every request. A token is made here,
 * shown to its node once, stored only as its SHA-256 (`nodes.token_hash`), and resolved back to the
 * node's principal for the auth middleware. Never logs or returns a token.
 */
import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { safeEqual, sha256Hex } from "../crypto/index.js";
import type { Db } from "../db/index.js";
import { nodes, placeholderQuery } from "../db/index.js";
import { DomainError } from "../errors.js";
import type { Principal } from "./principal.js";

export const NODE_TOKEN_PREFIX = "wsn_";

/**
 * A node token presented for a route that checks it itself, in the statement that reads or writes
 * the node (`WHERE id = … AND token_hash = …`): no separate lookup. Unverified until that statement
 * matched; the request then gets the node's principal.
 */
export interface NodeClaim {
  tokenHash: string;
}

/** What a service throws when the statement checking a claim did not match: nothing was read or changed. */
export function invalidNodeClaim(): DomainError {
  return new DomainError("UNAUTHENTICATED", "the node token is not valid (unknown, revoked or expired)");
}

/** The claim of a presented node token; undefined when it is no node token at all. */
export function nodeClaimOf(token: string): NodeClaim | undefined {
  return token.startsWith(NODE_TOKEN_PREFIX) ? { tokenHash: sha256Hex(token) } : undefined;
}

/** A new node token: 32 random bytes after the prefix. Store only its `sha256Hex`. */
export function generateNodeToken(): string {
  return `${NODE_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

// Every request of a node's agent is authenticated with this.
const nodeByTokenHash = placeholderQuery<
  { tokenHash: string },
  { id: string; networkId: string; tokenHash: string | null }
>((exec) =>
  exec
    .select({ id: nodes.id, networkId: nodes.networkId, tokenHash: nodes.tokenHash })
    .from(nodes)
    .where(eq(nodes.tokenHash, sql.placeholder("tokenHash"))),
);

export type NodeAuthService = ReturnType<typeof createNodeAuthService>;

/** Resolves node tokens to their node's principal. */
export function createNodeAuthService(db: Db) {
  /** The node a claim's token belongs to; undefined for an unknown token. */
  async function authenticateNodeClaim({ tokenHash: hash }: NodeClaim): Promise<Principal | undefined> {
    const [node] = await nodeByTokenHash(db, { tokenHash: hash });
    if (!node?.tokenHash || !safeEqual(hash, node.tokenHash)) return undefined;
    return { kind: "node", id: node.id, networkId: node.networkId, scopes: [] };
  }

  return {
    /** The node a node token belongs to; undefined for an unknown or malformed token. */
    async authenticateNodeToken(token: string): Promise<Principal | undefined> {
      const claim = nodeClaimOf(token);
      return claim && authenticateNodeClaim(claim);
    },

    authenticateNodeClaim,

    /**
     * Whether the node of a node principal, resolved earlier, still exists in the same network with a
     * token. For long-lived streams, which authenticate once. Throws what the database throws.
     */
    async isCurrentNode(principal: Principal & { kind: "node" }): Promise<boolean> {
      const [node] = await db
        .select({ networkId: nodes.networkId, tokenHash: nodes.tokenHash })
        .from(nodes)
        .where(eq(nodes.id, principal.id));
      return !!node?.tokenHash && node.networkId === principal.networkId;
    },
  };
}
