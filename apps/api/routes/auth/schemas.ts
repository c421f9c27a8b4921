import { z } from "@hono/zod-openapi";

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.enum(["admin", "user"]),
    createdAt: z.string(),
    lastLoginAt: z.string().nullable(),
    disabledAt: z.string().nullable().openapi({ description: "Set while the user may not sign in" }),
  })
  .openapi("User");

export const PrincipalSchema = z
  .object({
    kind: z.string(),
    id: z.string(),
    name: z.string().optional().openapi({ description: "An API key's name" }),
    scopes: z.array(z.string()),
  })
  .openapi("Principal");

export const SessionSchema = z
  .object({
    kind: z.enum(["user", "api-key", "bootstrap"]),
    name: z.string().openapi({ description: "The user's email or the API key's name" }),
    scopes: z.array(z.enum(["admin", "read"])),
    expiresAt: z.string(),
  })
  .openapi("BrowserSession");

export const ApiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: "Identifies the key without revealing it" }),
    scopes: z.array(z.enum(["admin", "read"])),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("ApiKey");
