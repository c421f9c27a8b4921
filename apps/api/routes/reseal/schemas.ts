import { z } from "@hono/zod-openapi";

const TableCounts = z.object({
  sealed: z.number().int().openapi({ description: "Envelopes in the table" }),
  remaining: z.number().int().openapi({ description: "Envelopes still under an older key" }),
});

export const ResealStatusSchema = z
  .object({
    keyId: z.string().openapi({ description: "Id of the current ENCRYPTION_KEY (not secret)" }),
    remaining: z
      .number()
      .int()
      .openapi({ description: "Envelopes under an older key; at 0 the previous keys can be removed" }),
    tables: z.record(z.string(), TableCounts),
    keys: z.record(z.string(), z.number().int()).openapi({ description: "Envelopes per key id" }),
    missingKeys: z.array(z.string()).openapi({ description: "Key ids in use that are not configured" }),
    job: z
      .object({ id: z.string(), state: z.string().nullable() })
      .nullable()
      .openapi({ description: "The job asked for with `job_id` (state null: no such job any more)" }),
  })
  .openapi("ResealStatus");
