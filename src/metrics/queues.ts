/**
 * Queue gauges, read from BullMQ on scrape: jobs per queue and state, and the age of the oldest job
 * waiting to start. A bounded number of Redis commands per queue (see src/stats/queue-depths.ts); a
 * Redis that does not answer leaves both without series and counts a collect error.
 */
import type { Registry } from "prom-client";
import { Gauge } from "prom-client";

export interface QueueDepthReading {
  queue: string;
  counts: Record<string, number>;
  /** When the oldest job waiting to start was added; null when none waits. */
  oldestWaitingAt: Date | null;
}

/** Where the queue gauges read from (BullMQ through the stats module). */
export interface QueueSource {
  depths(): Promise<QueueDepthReading[]>;
}

/** Registers the queue gauges on `registry`; `onError` counts a failed read (by metric name). */
export function registerQueueMetrics(
  registry: Registry,
  source: QueueSource,
  onError: (metric: string) => void,
  now: () => Date = () => new Date(),
) {
  // Both gauges come from one read per scrape (see the per-peer counters in nodes.ts for why this works).
  let inFlight: Promise<QueueDepthReading[]> | undefined;
  const read = () => {
    inFlight ??= source.depths().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  new Gauge({
    name: "wiresync_queue_jobs",
    help: "Jobs in each BullMQ queue, by state (waiting, prioritized, active, delayed, failed, ...)",
    labelNames: ["queue", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const d of await read())
          for (const [state, n] of Object.entries(d.counts)) this.set({ queue: d.queue, state }, n);
      } catch {
        this.reset();
        onError("wiresync_queue_jobs");
      }
    },
  });

  new Gauge({
    name: "wiresync_queue_oldest_waiting_seconds",
    help: "Seconds since the oldest job waiting to start in each queue was added (0 when none waits)",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const at = now().getTime();
        for (const d of await read()) {
          const age = d.oldestWaitingAt ? Math.max(0, (at - d.oldestWaitingAt.getTime()) / 1_000) : 0;
          this.set({ queue: d.queue }, age);
        }
      } catch {
        this.reset();
        onError("wiresync_queue_oldest_waiting_seconds");
      }
    },
  });
}
