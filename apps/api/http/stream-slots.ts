/**
 * A cap on the config streams one node holds open in this process. An agent needs one stream; a
 * leaked or stolen token that opens hundreds would hold as many sockets and Redis watchers.
 */
import { DomainError } from "../../../src/errors.js";

/** An agent needs one stream; a few more cover reconnects racing the old stream's teardown. */
export const MAX_STREAMS_PER_NODE = 4;

export interface StreamSlots {
  /**
   * Takes a slot for `nodeId`; returns its release (idempotent). Throws TOO_MANY_STREAMS when the
   * node already holds `max` streams.
   */
  acquire(nodeId: string): () => void;
  /** Streams `nodeId` holds now. */
  held(nodeId: string): number;
}

export function createStreamSlots(max: number): StreamSlots {
  const open = new Map<string, number>();
  return {
    acquire(nodeId) {
      const held = open.get(nodeId) ?? 0;
      if (held >= max) {
        throw new DomainError(
          "TOO_MANY_STREAMS",
          `node ${nodeId} already holds ${held} config streams, the most one node may hold at once; close one first`,
          { context: { nodeId, max, retryAfterSeconds: 30 } },
        );
      }
      open.set(nodeId, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(nodeId) ?? 1) - 1;
        if (left > 0) open.set(nodeId, left);
        else open.delete(nodeId);
      };
    },
    held: (nodeId) => open.get(nodeId) ?? 0,
  };
}
