/**
 * The spellings decentralised-VPN nodes send for what wiresync stores in one canonical form: NAT
 * types (`FullCone` → `full-cone`), metric names (`latency` → `latencyMs`) and the agent's version.
 * Each schema parses either spelling and outputs the canonical one; OpenAPI documents both.
 */
import { z } from "zod";
import type { NodeMetrics } from "../db/index.js";
import { canonicalNatType, NAT_TYPE_SPELLINGS, NAT_TYPES } from "../nat/index.js";

/**
 * A NAT type in any spelling nodes send (`FullCone`, `full_cone`, `Open`, …), stored and answered in
 * its canonical form (`full-cone`, `none`, …; see src/nat).
 */
export const NatTypeInput = z
  .string()
  .trim()
  .max(40)
  .transform((v, ctx) => {
    const natType = canonicalNatType(v);
    if (natType === undefined) {
      ctx.addIssue({ code: "custom", message: `must be a NAT type: ${NAT_TYPE_SPELLINGS}` });
      return z.NEVER;
    }
    return natType;
  })
  .meta({
    description: `Stored as one of ${NAT_TYPES.join(", ")}. Accepted spellings: ${NAT_TYPE_SPELLINGS}.`,
    examples: ["FullCone", "full-cone", "Symmetric", "port_restricted_cone", "Open"],
  });

/** The value of a field a node may send under two names; both given and different is an error. */
export function sameUnderTwoNames<T>(
  canonical: string,
  alias: string,
  a: T | undefined,
  b: T | undefined,
  ctx: z.RefinementCtx,
) {
  if (a !== undefined && b !== undefined && a !== b)
    ctx.addIssue({ code: "custom", message: `${alias} and ${canonical} disagree: send one of them` });
  return a ?? b;
}

/**
 * A heartbeat's metrics, under the canonical names (`cpu`, `memory`, `connections`, `latencyMs`) or the
 * ones decentralised-VPN nodes send (`cpuUsage`, `memoryUsage`, `activeConnections`, `latency`); stored
 * under the canonical ones.
 */
export const HeartbeatMetricsInput = z
  .object({
    cpu: z.number().min(0).max(100).optional().meta({ description: "CPU use, percent" }),
    cpuUsage: z.number().min(0).max(100).optional().meta({ description: "Same as `cpu`" }),
    memory: z.number().min(0).max(100).optional().meta({ description: "Memory use, percent" }),
    memoryUsage: z.number().min(0).max(100).optional().meta({ description: "Same as `memory`" }),
    connections: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: "Clients the node serves now (a relay: its relayed sessions)" }),
    activeConnections: z.number().int().min(0).optional().meta({ description: "Same as `connections`" }),
    latencyMs: z
      .number()
      .min(0)
      .max(600_000)
      .optional()
      .meta({ description: "Round trip to the hub, milliseconds" }),
    latency: z.number().min(0).max(600_000).optional().meta({ description: "Same as `latencyMs`" }),
    bandwidthUsed: z
      .object({ up: z.number().min(0).optional(), down: z.number().min(0).optional() })
      .strict()
      .optional()
      .meta({ description: "Megabits per second in use, each way" }),
  })
  .strict()
  .transform((m, ctx) => {
    const metrics: NodeMetrics = {};
    const cpu = sameUnderTwoNames("cpu", "cpuUsage", m.cpu, m.cpuUsage, ctx);
    const memory = sameUnderTwoNames("memory", "memoryUsage", m.memory, m.memoryUsage, ctx);
    const connections = sameUnderTwoNames(
      "connections",
      "activeConnections",
      m.connections,
      m.activeConnections,
      ctx,
    );
    const latencyMs = sameUnderTwoNames("latencyMs", "latency", m.latencyMs, m.latency, ctx);
    if (cpu !== undefined) metrics.cpu = cpu;
    if (memory !== undefined) metrics.memory = memory;
    if (connections !== undefined) metrics.connections = connections;
    if (latencyMs !== undefined) metrics.latencyMs = latencyMs;
    if (m.bandwidthUsed !== undefined) metrics.bandwidthUsed = m.bandwidthUsed;
    return metrics;
  });

/** An agent's version as it names it (`1.4.2`, `wiresync-agent/0.9`): one short printable word. */
export const AgentVersion = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces, such as 1.4.2");
