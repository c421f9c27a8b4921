import { and, asc, count, desc, eq, isNull, ne, sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { apiKeys, users } from "../db/index.js";

export type UserRow = typeof users.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function countUsers(exec: Executor): Promise<number> {
  const [row] = await exec.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

export async function findUserByEmail(exec: Executor, email: string): Promise<UserRow | undefined> {
  const [row] = await exec.select().from(users).where(sql`lower(${users.email}) = ${email.toLowerCase()}`);
  return row;
}

export async function findUserById(exec: Executor, id: string): Promise<UserRow | undefined> {
  const [row] = await exec.select().from(users).where(eq(users.id, id));
  return row;
}

export async function insertUser(exec: Executor, values: typeof users.$inferInsert): Promise<UserRow> {
  const [row] = await exec.insert(users).values(values).returning();
  return row!;
}

export async function listUserRows(exec: Executor): Promise<UserRow[]> {
  return exec.select().from(users).orderBy(asc(users.createdAt), asc(users.email));
}

/** Admins that are not disabled, other than `exceptId`. */
export async function countOtherActiveAdmins(exec: Executor, exceptId: string): Promise<number> {
  const [row] = await exec
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, "admin"), isNull(users.disabledAt), ne(users.id, exceptId)));
  return row?.n ?? 0;
}

/** Updates a user; `signOut` also raises the session version, so every session of theirs ends. */
export async function updateUserRow(
  exec: Executor,
  id: string,
  values: Partial<Pick<UserRow, "role" | "disabledAt" | "passwordHash">>,
  signOut: boolean,
): Promise<UserRow | undefined> {
  const [row] = await exec
    .update(users)
    .set({
      ...values,
      updatedAt: new Date(),
      ...(signOut ? { sessionVersion: sql`${users.sessionVersion} + 1` } : {}),
    })
    .where(eq(users.id, id))
    .returning();
  return row;
}

export async function touchLogin(exec: Executor, id: string): Promise<void> {
  await exec.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, id));
}

export async function bumpSessionVersion(exec: Executor, id: string): Promise<void> {
  await exec
    .update(users)
    .set({ sessionVersion: sql`${users.sessionVersion} + 1`, updatedAt: new Date() })
    .where(eq(users.id, id));
}

export async function findApiKeyByPrefix(exec: Executor, prefix: string): Promise<ApiKeyRow | undefined> {
  const [row] = await exec.select().from(apiKeys).where(eq(apiKeys.prefix, prefix));
  return row;
}

export async function findApiKeyById(exec: Executor, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await exec.select().from(apiKeys).where(eq(apiKeys.id, id));
  return row;
}

export async function insertApiKey(exec: Executor, values: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
  const [row] = await exec.insert(apiKeys).values(values).returning();
  return row!;
}

export async function listApiKeyRows(exec: Executor): Promise<ApiKeyRow[]> {
  return exec.select().from(apiKeys).orderBy(desc(apiKeys.createdAt));
}

export async function revokeApiKeyRow(exec: Executor, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await exec
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(eq(apiKeys.id, id))
    .returning();
  return row;
}

export async function touchApiKey(exec: Executor, id: string): Promise<void> {
  await exec.update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, id));
}
