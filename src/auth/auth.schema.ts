import { z } from "zod";
import { API_KEY_SCOPES } from "../db/index.js";
import { FutureDate, oneLine } from "../validation.js";

export const Email = z
  .email({ message: "must be an email address" })
  .max(254)
  .transform((v) => v.toLowerCase());

const Password = z.string().min(10, "must be at least 10 characters").max(256);

export const RegisterInput = z.object({
  email: Email,
  password: Password,
  name: oneLine(100).optional(),
  role: z.enum(["admin", "user"]).optional(),
});
export type RegisterInput = z.infer<typeof RegisterInput>;

/** An admin's change to a user: a new role, disabling or enabling, or both. */
export const UpdateUserInput = z
  .object({
    role: z.enum(["admin", "user"]).optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  .refine((v) => v.role !== undefined || v.disabled !== undefined, {
    message: "send role, disabled or both",
  });
export type UpdateUserInput = z.infer<typeof UpdateUserInput>;

/**
 * An admin resets a user's password: to `password` when given, otherwise to a generated one-time
 * password that the answer carries once.
 */
export const ResetPasswordInput = z.object({ password: Password.optional() }).strict();
export type ResetPasswordInput = z.infer<typeof ResetPasswordInput>;

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
