import { createHmac, randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { sign, verify } from "hono/jwt";
import { recordAudit } from "../audit/index.js";
import { safeEqual, sha256Hex } from "../crypto/index.js";
import type { ApiKeyScope, Db } from "../db/index.js";
import { transaction } from "../db/index.js";
import { DomainError, pgErrorCode } from "../errors.js";
import { apiKeyPrefix, generateApiKey } from "./api-key.js";
import type { ApiKeyRow, UserRow } from "./auth.repo.js";
import * as repo from "./auth.repo.js";
import type {
  CreateApiKeyInput,
  LoginInput,
  RegisterInput,
  ResetPasswordInput,
  SessionInput,
  UpdateUserInput,
} from "./auth.schema.js";
import { DUMMY_HASH_PROMISE, hashPassword, verifyPassword } from "./password.js";
import type { Principal } from "./principal.js";
import { describePrincipal, isAdmin } from "./principal.js";
import type { SignInGuard } from "./sign-in-guard.js";

const MINUTE_MS = 60_000;
/** Serialises registrations so that exactly one first user becomes admin. */
const REGISTER_LOCK_ID = 0x75736572;
/** `last_used_at` is written at most this often per key, so reads do not turn into writes. */
const TOUCH_INTERVAL_MS = 1 * MINUTE_MS;
/** Hex characters of a key's SHA-256 a session token carries to name the key that made it. */
const KEY_FINGERPRINT_CHARS = 16;
/** Random bytes of a generated password (24 base64url characters). */
const ONE_TIME_PASSWORD_BYTES = 18;

export interface AuthServiceDeps {
  db: Db;
  jwtSecret: string;
  jwtTtlSeconds: number;
  /** The bootstrap admin key from `API_KEY`; compared in constant time, never stored. */
  bootstrapApiKey: string | undefined;
  /** Limits on password sign-ins and registrations: every password hash runs through it. */
  signIns: SignInGuard;
}

export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  role: "admin" | "user";
  createdAt: Date;
  lastLoginAt: Date | null;
  /** When an admin disabled the user; null while the user may sign in. */
  disabledAt: Date | null;
}

export interface PublicApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface Session {
  token: string;
  expiresAt: Date;
}

/** Who a browser session belongs to, for the dashboard to show; never the token itself. */
export interface SessionOwner {
  kind: "user" | "api-key" | "bootstrap";
  name: string;
  scopes: ApiKeyScope[];
}

export interface RequestContext {
  principal?: Principal | undefined;
  requestId?: string | undefined;
  /** The client's address (sign-in limits count per source); undefined when unknown. */
  source?: string | undefined;
}

const toPublicUser = (u: UserRow): PublicUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  createdAt: u.createdAt,
  lastLoginAt: u.lastLoginAt,
  disabledAt: u.disabledAt,
});

const toPublicKey = (k: ApiKeyRow): PublicApiKey => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  expiresAt: k.expiresAt,
  revokedAt: k.revokedAt,
  lastUsedAt: k.lastUsedAt,
  createdAt: k.createdAt,
});

const userNotFound = (id: string) =>
  new DomainError("USER_NOT_FOUND", `user ${id} does not exist`, { context: { id } });

export type AuthService = ReturnType<typeof createAuthService>;

/** Users, sessions (JWT, HS256 only) and API keys. */
const sameScopes = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((s) => b.includes(s));

export function createAuthService(deps: AuthServiceDeps) {
  const { db } = deps;
  const bootstrapHash = deps.bootstrapApiKey ? sha256Hex(deps.bootstrapApiKey) : undefined;
  // IMPORTANT: a bootstrap session names the key that made it, so a session from a rotated `API_KEY`
  // is refused instead of keeping admin power. The name is an HMAC under the JWT secret, not a plain
  // hash: the claim is readable in the token, and a weak operator-chosen key must not be guessable
  // offline from it.
  const bootstrapFingerprint = deps.bootstrapApiKey
    ? createHmac("sha256", deps.jwtSecret)
        .update(`bootstrap-session:${deps.bootstrapApiKey}`)
        .digest("hex")
        .slice(0, KEY_FINGERPRINT_CHARS)
    : undefined;
  const lastTouched = new Map<string, number>();

  async function issueToken(subject: string, extra: Record<string, unknown> = {}): Promise<Session> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + deps.jwtTtlSeconds;
    const token = await sign({ sub: subject, iat: now, exp, ...extra }, deps.jwtSecret, "HS256");
    return { token, expiresAt: new Date(exp * 1000) };
  }

  function principalOfKey(row: ApiKeyRow): Principal {
    return { kind: "api-key", id: row.id, name: row.name, scopes: row.scopes };
  }

  function isUsable(row: ApiKeyRow): boolean {
    return !row.revokedAt && (!row.expiresAt || row.expiresAt.getTime() > Date.now());
  }

  const service = {
    /**
     * Creates a user; only an admin caller may (the bootstrap key, an admin key or an admin user):
     * registration is never open, because every installation has an admin credential from its first
     * start (`API_KEY`, configured or generated). The first user becomes admin unless `role` says
     * otherwise; later ones get `role` or `user`. Throws UNAUTHENTICATED without a caller, FORBIDDEN
     * for a non-admin one, USER_EXISTS for a taken email.
     */
    async register(input: RegisterInput, ctx: RequestContext): Promise<PublicUser> {
      // IMPORTANT: refused before any work: anonymous registration once made the first caller admin.
      if (!ctx.principal) {
        throw new DomainError(
          "UNAUTHENTICATED",
          "registration needs an admin: call with the bootstrap API key, an admin key or an admin's session (CLI: create-user)",
        );
      }
      if (!isAdmin(ctx.principal)) throw new DomainError("FORBIDDEN", "only an admin can register users");
      const principal = ctx.principal;
      // Hashing is paced like every sign-in's (a few at a time per process); an admin's try never
      // counts against the source's budget.
      const passwordHash = await deps.signIns.attempt({ source: ctx.source, counted: "no" }, () =>
        hashPassword(input.password),
      );
      try {
        return await transaction(db, async (tx) => {
          await tx.execute(sql`select pg_advisory_xact_lock(${REGISTER_LOCK_ID})`);
          const isFirst = (await repo.countUsers(tx)) === 0;
          const role = input.role ?? (isFirst ? "admin" : "user");
          const user = await repo.insertUser(tx, {
            email: input.email,
            name: input.name ?? null,
            passwordHash,
            role,
          });
          await recordAudit(tx, {
            actor: describePrincipal(principal),
            action: "user.registered",
            entityType: "user",
            entityId: user.id,
            details: { email: user.email, role, first: isFirst },
            requestId: ctx.requestId ?? null,
          });
          return toPublicUser(user);
        });
      } catch (err) {
        if (pgErrorCode(err) === "23505") {
          throw new DomainError("USER_EXISTS", `a user with email ${input.email} already exists`, {
            context: { email: input.email },
          });
        }
        throw err;
      }
    },

    /**
     * Checks a password and returns a short-lived token. Throws INVALID_CREDENTIALS (same for unknown
     * email), or TOO_MANY_ATTEMPTS when the account or the caller's source failed too often lately.
     */
    async login(input: LoginInput, ctx: RequestContext = {}): Promise<Session & { user: PublicUser }> {
      const { user, ok } = await deps.signIns.attempt(
        { account: input.email, source: ctx.source, counted: "on-failure" },
        async () => {
          const user = await repo.findUserByEmail(db, input.email);
          const ok = await verifyPassword(input.password, user?.passwordHash ?? (await DUMMY_HASH_PROMISE));
          return { user, ok };
        },
        (r) => !r.user || !r.ok,
      );
      if (!user || !ok) throw new DomainError("INVALID_CREDENTIALS", "email or password is wrong");
      // Said only to whoever knows the password, so it tells nobody else that the account exists.
      if (user.disabledAt) {
        throw new DomainError("USER_DISABLED", "this account is disabled: ask an admin to enable it");
      }
      await repo.touchLogin(db, user.id);
      const session = await issueToken(`user:${user.id}`, { role: user.role, sv: user.sessionVersion });
      return { ...session, user: toPublicUser(user) };
    },

    /**
     * A session token (with `exp`, like every token) for a principal that proved itself another way
     * (an API key in a browser). A bootstrap session carries the key's fingerprint and an API key's
     * session is checked against the key's row, so either ends when its key is rotated or revoked.
     */
    async issueSession(principal: Principal): Promise<Session> {
      const extra = principal.kind === "bootstrap" ? { kf: bootstrapFingerprint } : {};
      return issueToken(`${principal.kind}:${principal.id}`, extra);
    },

    /**
     * Opens a browser session from an API key or an email and password. Returns the session token
     * (for an HttpOnly cookie) and its owner. Throws INVALID_CREDENTIALS for an unknown, revoked or
     * expired key, or a wrong email or password.
     */
    async openSession(
      input: SessionInput,
      ctx: RequestContext = {},
    ): Promise<Session & { owner: SessionOwner }> {
      if (input.apiKey === undefined) {
        const { token, expiresAt, user } = await service.login(
          { email: input.email!, password: input.password! },
          ctx,
        );
        const scopes: ApiKeyScope[] = user.role === "admin" ? ["admin", "read"] : ["read"];
        return { token, expiresAt, owner: { kind: "user", name: user.email, scopes } };
      }
      const principal = await service.authenticateApiKey(input.apiKey);
      if (!principal || principal.kind === "user" || principal.kind === "node") {
        throw new DomainError(
          "INVALID_CREDENTIALS",
          "the API key is not valid (unknown, revoked or expired)",
        );
      }
      const session = await service.issueSession(principal);
      const name = principal.kind === "api-key" ? principal.name : "bootstrap key";
      return { ...session, owner: { kind: principal.kind, name, scopes: [...principal.scopes] } };
    },

    /**
     * Resolves a bearer or session token to its principal: undefined for a bad signature, another
     * algorithm (including `none`), a token without `exp` or past it, a user or key that no longer
     * exists, an API key that was revoked or expired, or a bootstrap session made with another
     * `API_KEY` than the one in force.
     */
    async authenticateToken(token: string): Promise<Principal | undefined> {
      let payload: Record<string, unknown>;
      try {
        payload = await verify(token, deps.jwtSecret, "HS256");
      } catch {
        return undefined;
      }
      // hono checks `exp` only when present; a token that never expires is never ours.
      if (typeof payload.exp !== "number") return undefined;
      const sub = typeof payload.sub === "string" ? payload.sub : "";
      const [kind, id] = [sub.slice(0, sub.indexOf(":")), sub.slice(sub.indexOf(":") + 1)];
      if (kind === "user") {
        if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
        const user = await repo.findUserById(db, id);
        // A token from before the user's last "sign out everywhere" carries an older version.
        if (!user || user.disabledAt || (payload.sv ?? 0) !== user.sessionVersion) return undefined;
        const scopes: ApiKeyScope[] = user.role === "admin" ? ["admin", "read"] : ["read"];
        return {
          kind: "user",
          id: user.id,
          email: user.email,
          role: user.role,
          scopes,
          sessionVersion: user.sessionVersion,
        };
      }
      if (kind === "bootstrap" && bootstrapFingerprint && payload.kf === bootstrapFingerprint)
        return { kind: "bootstrap", id: "bootstrap", scopes: ["admin", "read"] };
      if (kind === "api-key" && /^[0-9a-f-]{36}$/.test(id)) {
        const row = await repo.findApiKeyById(db, id);
        return row && isUsable(row) ? principalOfKey(row) : undefined;
      }
      return undefined;
    },

    /**
     * Whether `principal`, resolved earlier, still stands as it was: its user exists, is not disabled,
     * has the same role and (for a session) the same session version; its API key is not revoked,
     * expired or deleted and has the same scopes. The bootstrap key always stands (it changes only
     * with a restart); node principals are `NodeAuthService.isCurrentNode`'s to judge (false here).
     * For long-lived streams, which authenticate once. Reads one row; throws what the database throws.
     */
    async isCurrent(principal: Principal): Promise<boolean> {
      switch (principal.kind) {
        case "bootstrap":
          return true;
        case "node":
          return false;
        case "user": {
          const user = await repo.findUserById(db, principal.id);
          return (
            !!user &&
            !user.disabledAt &&
            user.role === principal.role &&
            (principal.sessionVersion === undefined || principal.sessionVersion === user.sessionVersion)
          );
        }
        case "api-key": {
          const row = await repo.findApiKeyById(db, principal.id);
          return !!row && isUsable(row) && sameScopes(row.scopes, principal.scopes);
        }
      }
    },

    /** Resolves an API key (bootstrap or stored); undefined when unknown, revoked or expired. */
    async authenticateApiKey(key: string): Promise<Principal | undefined> {
      const hash = sha256Hex(key);
      if (bootstrapHash && safeEqual(hash, bootstrapHash)) {
        return { kind: "bootstrap", id: "bootstrap", scopes: ["admin", "read"] };
      }
      const prefix = apiKeyPrefix(key);
      if (!prefix) return undefined;
      const row = await repo.findApiKeyByPrefix(db, prefix);
      if (!row || !safeEqual(hash, row.keyHash) || !isUsable(row)) return undefined;
      const last = lastTouched.get(row.id) ?? row.lastUsedAt?.getTime() ?? 0;
      if (Date.now() - last > TOUCH_INTERVAL_MS) {
        lastTouched.set(row.id, Date.now());
        await repo.touchApiKey(db, row.id);
      }
      return principalOfKey(row);
    },

    /** The caller's own user record (users only); throws NOT_FOUND for other principals' kinds. */
    async me(
      principal: Principal,
    ): Promise<PublicUser | { kind: Principal["kind"]; id: string; name?: string; scopes: ApiKeyScope[] }> {
      if (principal.kind === "user") {
        const user = await repo.findUserById(db, principal.id);
        if (!user) throw new DomainError("UNAUTHENTICATED", "the user of this token no longer exists");
        return toPublicUser(user);
      }
      const name = principal.kind === "api-key" ? { name: principal.name } : {};
      return { kind: principal.kind, id: principal.id, ...name, scopes: [...principal.scopes] };
    },

    /** Every user, oldest first, without password hashes. */
    async listUsers(): Promise<PublicUser[]> {
      return (await repo.listUserRows(db)).map(toPublicUser);
    },

    /**
     * Changes a user's role and/or disables or enables them. Disabling ends every session of the
     * user at once. Throws USER_NOT_FOUND, or LAST_ADMIN when the change would leave no enabled admin
     * user. Audit-logs each change that happened (none when nothing changed).
     */
    async updateUser(id: string, input: UpdateUserInput, ctx: RequestContext): Promise<PublicUser> {
      return transaction(db, async (tx) => {
        // Serialised with registrations and other changes, so two admins cannot demote each other
        // at once and leave none.
        await tx.execute(sql`select pg_advisory_xact_lock(${REGISTER_LOCK_ID})`);
        const user = await repo.findUserById(tx, id);
        if (!user) throw userNotFound(id);
        const role = input.role ?? user.role;
        const disabling = input.disabled === true && !user.disabledAt;
        const enabling = input.disabled === false && user.disabledAt !== null;
        const isActiveAdmin = user.role === "admin" && !user.disabledAt;
        if (isActiveAdmin && (role !== "admin" || disabling)) {
          if ((await repo.countOtherActiveAdmins(tx, id)) === 0) {
            throw new DomainError(
              "LAST_ADMIN",
              `${user.email} is the last enabled admin: make another user admin first`,
              { context: { id } },
            );
          }
        }
        if (role === user.role && !disabling && !enabling) return toPublicUser(user);
        const disabledAt = disabling ? new Date() : enabling ? null : user.disabledAt;
        const updated = await repo.updateUserRow(tx, id, { role, disabledAt }, disabling);
        const actor = ctx.principal ? describePrincipal(ctx.principal) : "system";
        const audit = (action: string, details: Record<string, unknown>) =>
          recordAudit(tx, {
            actor,
            action,
            entityType: "user",
            entityId: id,
            details: { email: user.email, ...details },
            requestId: ctx.requestId ?? null,
          });
        if (role !== user.role) await audit("user.role-changed", { from: user.role, to: role });
        if (disabling) await audit("user.disabled", {});
        if (enabling) await audit("user.enabled", {});
        return toPublicUser(updated!);
      });
    },

    /**
     * Sets a user's password to `input.password`, or to a generated password when none is
     * given, and ends every session of the user. The generated password is in the result (for the
     * admin who asked, once) and is stored only as a hash. Throws USER_NOT_FOUND.
     */
    async resetPassword(
      id: string,
      input: ResetPasswordInput,
      ctx: RequestContext,
    ): Promise<{ user: PublicUser; password?: string }> {
      // An unknown user is refused before the (deliberately slow) hashing.
      if (!(await repo.findUserById(db, id))) throw userNotFound(id);
      const generated =
        input.password === undefined ? randomBytes(ONE_TIME_PASSWORD_BYTES).toString("base64url") : undefined;
      const passwordHash = await deps.signIns.attempt({ source: ctx.source, counted: "no" }, () =>
        hashPassword(input.password ?? generated!),
      );
      const user = await transaction(db, async (tx) => {
        const row = await repo.updateUserRow(tx, id, { passwordHash }, true);
        if (!row) throw userNotFound(id);
        await recordAudit(tx, {
          actor: ctx.principal ? describePrincipal(ctx.principal) : "system",
          action: "user.password-reset",
          entityType: "user",
          entityId: id,
          details: { email: row.email, generated: generated !== undefined },
          requestId: ctx.requestId ?? null,
        });
        return toPublicUser(row);
      });
      return generated === undefined ? { user } : { user, password: generated };
    },

    /** Creates an API key; the whole key is in the result once and never again. */
    async createApiKey(
      input: CreateApiKeyInput,
      ctx: RequestContext,
    ): Promise<PublicApiKey & { key: string }> {
      const generated = generateApiKey();
      return transaction(db, async (tx) => {
        const row = await repo.insertApiKey(tx, {
          name: input.name,
          prefix: generated.prefix,
          keyHash: generated.hash,
          scopes: [...new Set(input.scopes)],
          expiresAt: input.expiresAt ?? null,
          createdBy: ctx.principal?.kind === "user" ? ctx.principal.id : null,
        });
        await recordAudit(tx, {
          actor: ctx.principal ? describePrincipal(ctx.principal) : "system",
          action: "api-key.created",
          entityType: "api_key",
          entityId: row.id,
          details: { name: row.name, prefix: row.prefix, scopes: row.scopes },
          requestId: ctx.requestId ?? null,
        });
        return { ...toPublicKey(row), key: generated.key };
      });
    },

    async listApiKeys(): Promise<PublicApiKey[]> {
      return (await repo.listApiKeyRows(db)).map(toPublicKey);
    },

    /**
     * Signs every session of the calling user out, this one included: their tokens stop working at
     * once. Only a user has sessions of their own (FORBIDDEN otherwise: revoke an API key instead).
     */
    async revokeSessions(ctx: RequestContext): Promise<{ revoked: true }> {
      const principal = ctx.principal;
      if (principal?.kind !== "user") {
        throw new DomainError(
          "FORBIDDEN",
          "only a signed-in user has sessions to revoke; an API key is revoked with DELETE /api/admin/api-keys/:id",
        );
      }
      await transaction(db, async (tx) => {
        await repo.bumpSessionVersion(tx, principal.id);
        await recordAudit(tx, {
          actor: describePrincipal(principal),
          action: "user.sessions-revoked",
          entityType: "user",
          entityId: principal.id,
          details: {},
          requestId: ctx.requestId ?? null,
        });
      });
      return { revoked: true };
    },

    /** Revokes a key (idempotent). Throws API_KEY_NOT_FOUND. */
    async revokeApiKey(id: string, ctx: RequestContext): Promise<PublicApiKey> {
      return transaction(db, async (tx) => {
        const row = await repo.revokeApiKeyRow(tx, id);
        if (!row)
          throw new DomainError("API_KEY_NOT_FOUND", `API key ${id} does not exist`, { context: { id } });
        await recordAudit(tx, {
          actor: ctx.principal ? describePrincipal(ctx.principal) : "system",
          action: "api-key.revoked",
          entityType: "api_key",
          entityId: id,
          details: { prefix: row.prefix },
          requestId: ctx.requestId ?? null,
        });
        return toPublicKey(row);
      });
    },
  };
  return service;
}
