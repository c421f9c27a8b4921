import { z } from "@hono/zod-openapi";
import { EMAIL_STATUSES, EMAIL_TEMPLATES } from "../../../../src/db/index.js";

export const EmailSchema = z
  .object({
    id: z.uuid(),
    to: z.string(),
    template: z.enum(EMAIL_TEMPLATES),
    subject: z.string().nullable(),
    status: z.enum(EMAIL_STATUSES),
    providerId: z.string().nullable(),
    attempts: z.number().int(),
    error: z.string().nullable(),
    eventId: z.uuid().nullable(),
    requestedBy: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    sentAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Email");
