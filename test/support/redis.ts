/** Redis isolation: every test file (or test) uses its own key prefix, deleted afterwards. */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { TEST_REDIS_URL } from "./env.js";

export function testPrefix(): string {
  return `test-${randomUUID()}`;
}

/** Deletes every key under `prefix` (BullMQ keys are `<prefix>:<queue>:…`). */
export async function deletePrefix(prefix: string, url = TEST_REDIS_URL): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  // A test pointed at a closed port gets the rejection below; keep ioredis from also printing it.
  redis.on("error", () => {});
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return deleted;
}
