/**
 * Config delivery: the config-push job announces a node's new config version to its agent. The
 * announcement travels over Redis pub/sub to whichever API process holds the agent's stream; the
 * agent then fetches the config itself. Announcements are hints: an agent that missed one sees the
 * current version when it reconnects, so nothing here needs to be durable.
 */
import { EventEmitter } from "node:events";
import type { Db } from "../db/index.js";
import type { Redis } from "../queue/index.js";
import * as repo from "./config-push.repo.js";

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

/** Delivers config announcements (the config-push job's work). */
export interface ConfigPusher {
  /**
   * Announces `version` of a node's config unless the node is gone or a newer version exists (a
   * newer push job will announce that one). Records the highest version announced.
   */
  push(a: ConfigAnnouncement): Promise<PushOutcome>;
}

export function createConfigPusher(db: Db, notifier: ConfigNotifier): ConfigPusher {
  return {
    async push(a) {
      const version = await repo.configVersionOf(db, a.nodeId);
      if (version === undefined) return "gone";
      if (version > a.version) return "superseded";
      await notifier.announce(a);
      await repo.recordPushedVersion(db, a.nodeId, a.version);
      return "announced";
    },
  };
}
