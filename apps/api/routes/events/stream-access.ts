/** Who a stream request streams as and which rooms it joins, for the SSE and WebSocket routes alike. */
import type { Context } from "hono";
import type { Principal } from "../../../../src/auth/index.js";
import { DomainError } from "../../../../src/errors.js";
import type { AppEnv } from "../../env.js";

export interface StreamAccess {
  principal: Principal;
  rooms: string[];
  /** The one room a stream token reaches; undefined for a caller with credentials of its own. */
  tokenRoom: string | undefined;
}

/** Room names of a `?rooms=` list. */
export const roomList = (rooms: string | undefined): string[] =>
  (rooms ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r !== "");

/**
 * The caller's principal (or a stream token's) and the rooms it may join of those `requested`.
 * Throws UNAUTHENTICATED for a bad token, FORBIDDEN for a room it may not read (or one a token
 * does not name), VALIDATION_FAILED and NETWORK_NOT_FOUND as `authorizeRooms` does.
 */
export async function streamAccess(
  c: Context<AppEnv>,
  requested: string | undefined,
  token: string | undefined,
): Promise<StreamAccess> {
  const { realtime } = c.var.services;
  const names = roomList(requested);
  const principal = c.get("principal");
  if (principal)
    return { principal, rooms: await realtime.authorizeRooms(principal, names), tokenRoom: undefined };
  const grant = await realtime.redeemToken(token ?? "");
  const others = names.filter((n) => n.toLowerCase() !== grant.room);
  if (others.length > 0)
    throw new DomainError("FORBIDDEN", `this stream token joins room ${grant.room} only`, {
      context: { room: others[0] },
    });
  // Authorised again: the network may be gone since the token was issued.
  return {
    principal: grant.principal,
    rooms: await realtime.authorizeRooms(grant.principal, [grant.room]),
    tokenRoom: grant.room,
  };
}

/**
 * Whether the caller of an open stream still stands (checked at each keepalive): its user not
 * disabled or signed out everywhere, its API key not revoked, its node not deleted. A check the
 * database could not answer counts as standing; the next keepalive checks again.
 */
export async function callerStands(services: AppEnv["Variables"]["services"], principal: Principal) {
  try {
    return principal.kind === "node"
      ? await services.nodeAuth.isCurrentNode(principal)
      : await services.auth.isCurrent(principal);
  } catch {
    return true;
  }
}
