import { z } from "zod";
import { API_KEY_SCOPES } from "../db/index.js";
import { FutureDate, oneLine } from "../validation.js";

export const Email = z
  .email({ message: "must be an email address" })
  .max(254)
  .transform((v) => v.toLowerCase());

export const RegisterInput = z.object({
  email: Email,
  password: z.string().min(10, "must be at least 10 characters").max(256),
  name: oneLine(100).optional(),
  role: z.enum(["admin", "user"]).optional(),
});
export type RegisterInput = z.infer<typeof RegisterInput>;

export const LoginInput = z.object({ email: Email, password: z.string().min(1).max(256) });
export type LoginInput = z.infer<typeof LoginInput>;

export const CreateApiKeyInput = z.object({
  name: oneLine(100),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).default(["read"]),
  expiresAt: FutureDate.optional(),
});
export type CreateApiKeyInput = z.infer<typeof CreateApiKeyInput>;

/** A browser session from an API key, or from an email and password (the dashboard's sign-in). */
export const SessionInput = z
  .object({
    apiKey: z.string().trim().min(1).max(256).optional(),
    email: Email.optional(),
    password: z.string().min(1).max(256).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const byKey = v.apiKey !== undefined;
    const byPassword = v.email !== undefined || v.password !== undefined;
    if (byKey === byPassword)
      ctx.addIssue({ code: "custom", message: "send either apiKey, or email and password" });
    else if (byPassword && (v.email === undefined || v.password === undefined))
      ctx.addIssue({ code: "custom", message: "send both email and password" });
  });
export type SessionInput = z.infer<typeof SessionInput>;
