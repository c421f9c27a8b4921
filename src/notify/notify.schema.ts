/** zod schemas of what the notify services accept. The API builds its request schemas from these. */
import { z } from "zod";
import { EMAIL_TEMPLATES, WEBHOOK_TYPES } from "../db/index.js";
import { CustomEventName, SubscribableEventName } from "../events/index.js";
import { oneLine } from "../validation.js";
import { SCOPE_PATTERN } from "./fan-out.js";

const MAX_DATA_BYTES = 64 * 1024;

/** A Gotify application token: printable ASCII without spaces (it travels in a header). */
const GotifyToken = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

const JsonObject = z
  .record(z.string(), z.unknown())
  .refine(
    (v) => JSON.stringify(v).length <= MAX_DATA_BYTES,
    `must be at most ${MAX_DATA_BYTES} bytes of JSON`,
  );

export const WebhookInput = z
  .object({
    name: oneLine(100),
    webhookUrl: z.string().trim().min(1).max(2048),
    type: z.enum(WEBHOOK_TYPES),
    scope: z.string().regex(SCOPE_PATTERN, "must be `global` or `network:<uuid>`").default("global"),
    events: z.array(SubscribableEventName).min(1).max(50),
    enabled: z.boolean().default(true),
    /** GOTIFY only, and required there: the application token (sealed, never returned). */
    token: GotifyToken.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.type === "GOTIFY" && v.token === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["token"],
        message: "a GOTIFY webhook needs its application token",
      });
    if (v.type !== "GOTIFY" && v.token !== undefined)
      ctx.addIssue({ code: "custom", path: ["token"], message: "only a GOTIFY webhook takes a token" });
  });
export type WebhookInput = z.infer<typeof WebhookInput>;

export const WebhookUpdate = z
  .object({
    id: z.uuid(),
    name: WebhookInput.shape.name.optional(),
    webhookUrl: WebhookInput.shape.webhookUrl.optional(),
    type: WebhookInput.shape.type.optional(),
    scope: z.string().regex(SCOPE_PATTERN, "must be `global` or `network:<uuid>`").optional(),
    events: WebhookInput.shape.events.optional(),
    /** Re-enabling a disabled webhook clears its failure streak. */
    enabled: z.boolean().optional(),
    /** Issue a new signing secret (returned once, in this response). Not for GOTIFY webhooks. */
    rotateSecret: z.boolean().optional(),
    /** A GOTIFY webhook's new application token (sealed, never returned). */
    token: GotifyToken.optional(),
  })
  .strict();
export type WebhookUpdate = z.infer<typeof WebhookUpdate>;

export const DispatchInput = z.object({ event: CustomEventName, data: JsonObject.default({}) }).strict();
export type DispatchInput = z.infer<typeof DispatchInput>;

export const EmailInput = z
  .object({
    to: z.email().max(320),
    subject: oneLine(300).optional(),
    template: z.enum(EMAIL_TEMPLATES),
    data: JsonObject.default({}),
  })
  .strict();
export type EmailInput = z.infer<typeof EmailInput>;
