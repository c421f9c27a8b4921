/** Enrollment keys: the secrets agents register with (enrollment.service.ts `registerNode`). */
import { randomBytes } from "node:crypto";
import { recordAudit } from "../audit/index.js";
import { sha256Hex } from "../crypto/index.js";
import { DomainError } from "../errors.js";
import { actorOf, type MeshContext, type MeshCore } from "./mesh.core.js";
import * as repo from "./mesh.repo.js";
import type { CreateEnrollmentKeyInput } from "./mesh.schema.js";
import type { EnrollmentKeyView } from "./views.js";
import { toEnrollmentKeyView } from "./views.js";

export type EnrollmentKeyService = ReturnType<typeof createEnrollmentKeyService>;

/** Enrollment keys: the secrets agents register with (`registerNode`). */
export function createEnrollmentKeyService(core: MeshCore) {
  const { inTx, requireNetwork, db } = core;
  return {
    /** Creates an enrollment key; the key is in the result once. Throws NETWORK_NOT_FOUND. */
    async createEnrollmentKey(
      input: CreateEnrollmentKeyInput,
      ctx: MeshContext,
    ): Promise<EnrollmentKeyView & { key: string }> {
      const lookup = randomBytes(9).toString("base64url").slice(0, 12);
      const key = `wse_${lookup}_${randomBytes(32).toString("base64url")}`;
      return inTx(async (tx) => {
        await requireNetwork(tx, input.networkId);
        const row = await repo.insertEnrollmentKey(tx, {
          networkId: input.networkId,
          prefix: `wse_${lookup}`,
          keyHash: sha256Hex(key),
          description: input.description ?? null,
          reusable: input.reusable,
          maxUses: input.reusable ? (input.maxUses ?? null) : 1,
          expiresAt: input.expiresAt ?? null,
          role: input.role,
          tags: input.tags,
          createdBy: actorOf(ctx),
        });
        await recordAudit(tx, {
          actor: actorOf(ctx),
          action: "enrollment-key.created",
          entityType: "enrollment_key",
          entityId: row.id,
          details: {
            networkId: row.networkId,
            prefix: row.prefix,
            reusable: row.reusable,
            maxUses: row.maxUses,
          },
          requestId: ctx.requestId ?? null,
        });
        return { ...toEnrollmentKeyView(row), key };
      });
    },

    async listEnrollmentKeys(networkId?: string): Promise<EnrollmentKeyView[]> {
      return (await repo.listEnrollmentKeys(db, networkId)).map(toEnrollmentKeyView);
    },

    /** Revokes an enrollment key (idempotent). Throws ENROLLMENT_KEY_NOT_FOUND. */
    async revokeEnrollmentKey(id: string, ctx: MeshContext): Promise<EnrollmentKeyView> {
      return inTx(async (tx) => {
        const row = await repo.revokeEnrollmentKey(tx, id);
        if (!row)
          throw new DomainError("ENROLLMENT_KEY_NOT_FOUND", `enrollment key ${id} does not exist`, {
            context: { id },
          });
        await recordAudit(tx, {
          actor: actorOf(ctx),
          action: "enrollment-key.revoked",
          entityType: "enrollment_key",
          entityId: id,
          details: { prefix: row.prefix },
          requestId: ctx.requestId ?? null,
        });
        return toEnrollmentKeyView(row);
      });
    },
  };
}
