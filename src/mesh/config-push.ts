/**
 * Config delivery: the config-push job announces a node's new config version to its agent. The
 * announcement travels over Redis pub/sub to whichever API process holds the agent's stream; the
 * agent then fetches the config itself. Announcements are hints: an agent that missed one sees the
 * current version when it reconnects, so nothing here needs to be durable.
 */
import { EventEmitter } from "node:events";
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { nodes } from "../db/index.js";
import type { Redis } from "../queue/index.js";

export interface ConfigAnnouncement {
  nodeId: string;
  version: number;
}

/** Publishes announcements. */
export interface ConfigNotifier {
  announce(a: ConfigAnnouncement): Promise<void>;
}

/** Receives announcements for the streams this process holds. */
export interface ConfigFeed {
  /** Calls `listener` for each announcement for `nodeId`; returns the unsubscribe function. */
  watch(nodeId: string, listener: (a: ConfigAnnouncement) => void): () => void;
  close(): Promise<void>;
}

export const configChannel = (prefix: string) => `${prefix}:config-announce`;

export function redisConfigNotifier(redis: Redis, prefix: string): ConfigNotifier {
  return {
    async announce(a) {
      await redis.publish(configChannel(prefix), JSON.stringify(a));
    },
  };
}

/** One subscriber connection per process, fanned out in memory to every watching stream. */
export function redisConfigFeed(subscriber: Redis, prefix: string): ConfigFeed {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  // ioredis re-subscribes by itself after a reconnect.
  subscriber.subscribe(configChannel(prefix)).catch(() => {});
  subscriber.on("message", (channel: string, message: string) => {
    if (channel !== configChannel(prefix)) return;
    try {
      const a = JSON.parse(message) as ConfigAnnouncement;
      if (typeof a.nodeId === "string" && Number.isInteger(a.version)) emitter.emit(a.nodeId, a);
    } catch {
      // Not ours; ignore.
    }
  });
  return {
    watch(nodeId, listener) {
      emitter.on(nodeId, listener);
      return () => emitter.off(nodeId, listener);
    },
    async close() {
      emitter.removeAllListeners();
      subscriber.disconnect();
    },
  };
}

export type PushOutcome = "announced" | "superseded" | "gone";

/**
 * Announces `version` of a node's config unless the node is gone or a newer version exists (a newer
 * push job will announce that one). Records the highest version announced.
 */
export async function pushConfig(
  db: Db,
  notifier: ConfigNotifier,
  a: ConfigAnnouncement,
): Promise<PushOutcome> {
  const [node] = await db.select({ version: nodes.configVersion }).from(nodes).where(eq(nodes.id, a.nodeId));
  if (!node) return "gone";
  if (node.version > a.version) return "superseded";
  await notifier.announce(a);
  await db
    .update(nodes)
    .set({ configPushedVersion: sql`greatest(${nodes.configPushedVersion}, ${a.version})` })
    .where(eq(nodes.id, a.nodeId));
  return "announced";
}
