/** TURN/STUN servers for nodes: ICE entries with time-limited coturn credentials. */
import { recordAudit } from "../audit/index.js";
import type { Db } from "../db/index.js";
import { DomainError, notFound } from "../errors.js";
import type { IceServer } from "./credentials.js";
import { iceServersFor } from "./credentials.js";
import { nodeExists } from "./turn.repo.js";

/** `TURN_URLS`, `TURN_SECRET`, `TURN_TTL_SECONDS`. IMPORTANT: `secret` is coturn's shared secret. */
export interface TurnConfig {
  readonly urls: readonly string[];
  readonly secret: string | undefined;
  readonly ttlSeconds: number;
}

export type TurnService = ReturnType<typeof createTurnService>;

/** Who asks: a node (for itself) or an admin (for the node it names), for the audit row. */
export type IceAsker =
  | { kind: "node"; nodeId: string }
  | { kind: "admin"; actor: string; requestId?: string | undefined };

export function createTurnService(deps: { db: Db; config: TurnConfig | undefined; now?: () => number }) {
  const now = deps.now ?? Date.now;
  return {
    /**
     * The ICE servers for node `nodeId` (its own, for a node; the named one, for an admin): STUN
     * entries, and TURN entries whose credential expires `ttlSeconds` from now. An admin's read is
     * audited (`node.turn-credentials-read`); a node's own is not (nodes ask on every connection).
     * Throws TURN_NOT_CONFIGURED (no TURN_URLS), FORBIDDEN (a node asking for another node),
     * VALIDATION_FAILED (an admin naming no node) and NODE_NOT_FOUND.
     */
    async iceServers(
      asker: IceAsker,
      nodeId: string | undefined,
    ): Promise<{ iceServers: IceServer[]; expiresAt: Date | null }> {
      const config = deps.config;
      if (!config || config.urls.length === 0) {
        throw new DomainError(
          "TURN_NOT_CONFIGURED",
          "this server names no STUN or TURN servers: an operator sets TURN_URLS (and TURN_SECRET for TURN)",
        );
      }
      let userId: string;
      if (asker.kind === "node") {
        if (nodeId !== undefined && nodeId !== asker.nodeId)
          throw new DomainError(
            "FORBIDDEN",
            "a node's token gets its own credentials only: leave nodeId out",
          );
        userId = asker.nodeId;
      } else {
        if (nodeId === undefined)
          throw new DomainError(
            "VALIDATION_FAILED",
            "name the node the credentials are for: ?nodeId=<node id>",
          );
        if (!(await nodeExists(deps.db, nodeId))) throw notFound("NODE_NOT_FOUND", "node", nodeId);
        await recordAudit(deps.db, {
          actor: asker.actor,
          action: "node.turn-credentials-read",
          entityType: "node",
          entityId: nodeId,
          details: {},
          requestId: asker.requestId ?? null,
        });
        userId = nodeId;
      }
      const made = iceServersFor({ ...config, userId, nowMs: now() });
      return {
        iceServers: made.iceServers,
        expiresAt: made.expiresAt === null ? null : new Date(made.expiresAt * 1_000),
      };
    },
  };
}
