/** Node tokens: which node a token belongs to (the auth middleware's node credential). */
import type { Principal } from "../auth/index.js";
import { safeEqual, sha256Hex } from "../crypto/index.js";
import { type MeshCore, NODE_TOKEN_PREFIX } from "./mesh.core.js";
import * as repo from "./mesh.repo.js";

export type NodeAuthService = ReturnType<typeof createNodeAuthService>;

/** Node tokens: which node a token belongs to. */
export function createNodeAuthService(core: MeshCore) {
  const { db } = core;
  return {
    /** The node a node token belongs to; undefined for an unknown token. */
    async authenticateNodeToken(token: string): Promise<Principal | undefined> {
      if (!token.startsWith(NODE_TOKEN_PREFIX)) return undefined;
      const hash = sha256Hex(token);
      const node = await repo.getNodeByTokenHash(db, hash);
      if (!node?.tokenHash || !safeEqual(hash, node.tokenHash)) return undefined;
      return { kind: "node", id: node.id, networkId: node.networkId, scopes: [] };
    },
  };
}
