import { z } from "@hono/zod-openapi";

export const SettingSchema = z
  .object({
    key: z.string(),
    value: z.unknown().openapi({ description: "null when the setting is encrypted" }),
    encrypted: z.boolean(),
    updatedAt: z.string(),
    updatedBy: z.string().nullable(),
  })
  .openapi("Setting");

export const SyncSettingsSchema = z
  .object({
    autoSyncEnabled: z.boolean(),
    autoSyncInterval: z.number().int().openapi({ description: "Seconds between scheduled full reconciles" }),
  })
  .openapi("SyncSettings");
