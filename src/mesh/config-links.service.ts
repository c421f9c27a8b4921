/**
 * One-time config links: an admin makes a link that downloads one node's config (or its QR code),
 * private key included, once, before it expires, unless revoked first. The link's token is shown in
 * the answer that makes it and stored only as its SHA-256; using it is one atomic claim.
 */
import { randomBytes } from "node:crypto";
import { recordAudit } from "../audit/index.js";
import { sha256Hex } from "../crypto/index.js";
import { transaction } from "../db/index.js";
import { DomainError } from "../errors.js";
import type { ConfigLinkRow } from "./config-links.repo.js";
import * as repo from "./config-links.repo.js";
import { actorOf, configQr, type MeshContext, type MeshCore } from "./mesh.core.js";

export const CONFIG_LINK_TOKEN_PREFIX = "wsl_";
const SECOND_MS = 1_000;

export interface CreatedConfigLink {
  id: string;
  /** The link's secret, shown in this answer only. */
  token: string;
  expiresAt: Date;
}

export type DownloadedConfig =
  | { format: "conf"; text: string; filename: string; version: number }
  | { format: "qr"; png: Buffer; filename: string; version: number };

/** Why a link of this node cannot be used: used, revoked or expired (410). */
function gone(link: ConfigLinkRow): DomainError {
  const reason = link.usedAt
    ? `was used at ${link.usedAt.toISOString()}`
    : link.revokedAt
      ? `was revoked at ${link.revokedAt.toISOString()}`
      : `expired at ${link.expiresAt.toISOString()}`;
  return new DomainError("CONFIG_LINK_GONE", `this config link ${reason}; ask an admin for a new one`, {
    context: { linkId: link.id },
  });
}

/** A token that names no link of this node: unknown, or another node's (404, nothing more said). */
const notFound = () =>
  new DomainError("CONFIG_LINK_NOT_FOUND", "no config link of this node has this token; check the link");

export type ConfigLinkService = ReturnType<typeof createConfigLinkService>;

export function createConfigLinkService(core: MeshCore) {
  const { db, requireNode, renderFor } = core;
  return {
    /**
     * Makes a link that downloads the node's config once within `ttlSeconds`; audited as
     * `node.config-link-created` (never the token). Throws NODE_NOT_FOUND.
     */
    async create(nodeId: string, ttlSeconds: number, ctx: MeshContext): Promise<CreatedConfigLink> {
      const token = `${CONFIG_LINK_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
      return transaction(db, async (tx) => {
        await requireNode(tx, nodeId);
        const row = await repo.insertConfigLink(tx, {
          nodeId,
          tokenHash: sha256Hex(token),
          expiresAt: new Date(Date.now() + ttlSeconds * SECOND_MS),
          createdBy: actorOf(ctx),
        });
        await recordAudit(tx, {
          actor: actorOf(ctx),
          action: "node.config-link-created",
          entityType: "node",
          entityId: nodeId,
          details: { linkId: row.id, ttlSeconds, expiresAt: row.expiresAt.toISOString() },
          requestId: ctx.requestId ?? null,
        });
        return { id: row.id, token, expiresAt: row.expiresAt };
      });
    },

    /**
     * Downloads the node's config (`conf`) or its QR code (`qr`) through a link, which is used up
     * by it: of any number of requests, one succeeds. Audited as `node.config-link-used` in the same
     * transaction, which rolls back (leaving the link unused) if rendering fails. Throws
     * CONFIG_LINK_NOT_FOUND (unknown token, or another node's), CONFIG_LINK_GONE (used, revoked,
     * expired).
     */
    async download(
      nodeId: string,
      token: string,
      format: "conf" | "qr",
      ctx: MeshContext,
    ): Promise<DownloadedConfig> {
      const tokenHash = sha256Hex(token);
      return transaction(db, async (tx) => {
        const link = await repo.claimConfigLink(tx, nodeId, tokenHash);
        if (!link) {
          const existing = await repo.findConfigLink(tx, nodeId, tokenHash);
          throw existing ? gone(existing) : notFound();
        }
        const node = await requireNode(tx, nodeId);
        const config = await renderFor(tx, node, true);
        await recordAudit(tx, {
          actor: "config-link",
          action: "node.config-link-used",
          entityType: "node",
          entityId: nodeId,
          details: {
            linkId: link.id,
            format,
            privateKey: node.privateKeyEnc !== null,
            createdBy: link.createdBy,
          },
          requestId: ctx.requestId ?? null,
        });
        if (format === "conf") return { format, ...config };
        const png = await configQr(config.text);
        return { format, png, filename: config.filename.replace(/\.conf$/, ".png"), version: config.version };
      });
    },

    /**
     * Revokes an unused link (an expired one too); audited as `node.config-link-revoked`. Throws
     * CONFIG_LINK_NOT_FOUND, CONFIG_LINK_GONE (already used or revoked).
     */
    async revoke(nodeId: string, token: string, ctx: MeshContext): Promise<{ id: string; revokedAt: Date }> {
      const tokenHash = sha256Hex(token);
      return transaction(db, async (tx) => {
        const link = await repo.revokeConfigLink(tx, nodeId, tokenHash);
        if (!link) {
          const existing = await repo.findConfigLink(tx, nodeId, tokenHash);
          throw existing ? gone(existing) : notFound();
        }
        await recordAudit(tx, {
          actor: actorOf(ctx),
          action: "node.config-link-revoked",
          entityType: "node",
          entityId: nodeId,
          details: { linkId: link.id },
          requestId: ctx.requestId ?? null,
        });
        return { id: link.id, revokedAt: link.revokedAt! };
      });
    },
  };
}
