import { z } from "@hono/zod-openapi";
import type { Context } from "hono";

const Month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be YYYY-MM")
  .openapi({ example: "2026-11" });

const Bytes = z.object({ rxBytes: z.number().int(), txBytes: z.number().int() });

export const UsageQuery = z.object({
  node: z.uuid().optional(),
  network: z.uuid().optional(),
  publicKey: z
    .string()
    .regex(
      /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/,
      "must be a WireGuard public key (44 characters of base64)",
    )
    .optional(),
  email: z.string().trim().max(254).optional(),
  month: Month.optional(),
  monthly_only: z.enum(["true", "false"]).default("true").openapi({
    description: "`false` adds `allTime` to each row: its peer's totals over every month",
  }),
  format: z
    .enum(["json", "csv"])
    .optional()
    .openapi({ description: "`csv` (or `Accept: text/csv`) for a CSV file" }),
});

export const Usage = z
  .object({
    networkId: z.uuid().nullable(),
    nodeId: z
      .uuid()
      .nullable()
      .openapi({ description: "null once the node is deleted with its history kept" }),
    publicKey: z.string(),
    nodeName: z.string().nullable(),
    email: z.string().nullable(),
    month: Month,
    rxBytes: z.number().int(),
    txBytes: z.number().int(),
    allTime: Bytes.optional().openapi({ description: "with `monthly_only=false`: totals over every month" }),
    updatedAt: z.string().openapi({
      description: "when the peer last moved traffic this month (or its node's name or email changed)",
    }),
  })
  .openapi("Usage");

export const SeriesQuery = z
  .object({
    nodeId: z.uuid().optional(),
    networkId: z.uuid().optional(),
    hours: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 31)
      .default(72),
    format: z.enum(["json", "csv"]).optional(),
  })
  .refine((q) => (q.nodeId === undefined) !== (q.networkId === undefined), {
    message: "give exactly one of nodeId and networkId",
    path: ["nodeId"],
  });

export const Series = z
  .object({
    hourly: z
      .array(Bytes.extend({ hour: z.string().openapi({ example: "2026-11-03T10:00:00.000Z" }) }))
      .openapi({
        description: "one point per hour, oldest first, ending with the current hour (zero when idle)",
      }),
    monthly: z
      .array(Bytes.extend({ month: Month }))
      .openapi({ description: "every month's totals, oldest first" }),
  })
  .openapi("UsageSeries");

export const TopQuery = z.object({
  month: Month.optional().openapi({ description: "the current month (UTC) when absent" }),
  limit: z.coerce.number().int().min(1).max(100).default(10),
  format: z.enum(["json", "csv"]).optional(),
});

export const Top = z
  .object({
    month: Month,
    items: z.array(
      Bytes.extend({
        nodeId: z.uuid().nullable(),
        publicKey: z.string(),
        nodeName: z.string().nullable(),
        totalBytes: z.number().int(),
      }),
    ),
  })
  .openapi("UsageTop");

/** The 200 response's CSV alternative, for OpenAPI. */
export const csvContent = { "text/csv": { schema: z.string() } };

/** True when the caller asked for CSV: `?format=csv`, or `Accept: text/csv` without `?format=json`. */
export function wantsCsv(c: Context, format: "json" | "csv" | undefined): boolean {
  if (format !== undefined) return format === "csv";
  return (c.req.header("Accept") ?? "").includes("text/csv");
}

/** The headers of a CSV download named `filename`. */
export function csvHeaders(filename: string) {
  return {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${filename}"`,
  };
}
