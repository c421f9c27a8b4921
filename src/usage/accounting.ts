/**
 * Usage accounting. Pure: turns successive readings of a peer's transfer counters into monthly
 * totals and hourly buckets. Counters only grow while the interface lives; a reading lower than the last one means the
 * interface (or the peer) was re-created, and the new counter value is all that was transferred since.
 */

export interface Counters {
  rx: number;
  tx: number;
}

export interface UsageState {
  month: string;
  rxBytes: number;
  txBytes: number;
  lastRx: number;
  lastTx: number;
}

/** `YYYY-MM` of a date, in UTC. */
export function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** Bytes transferred between two readings of one counter (a drop means a reset). */
export function counterDelta(last: number, current: number): number {
  return current >= last ? current - last : current;
}

/** Start of the UTC hour a date falls in. */
export function hourOf(date: Date): Date {
  return new Date(Math.floor(date.getTime() / HOUR_MS) * HOUR_MS);
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Bytes a peer moved since its previous reading (resets handled): the whole counter for a peer never
 * read before. The monthly row and the hourly bucket both add exactly this.
 */
export function readingDelta(
  previous: Pick<UsageState, "lastRx" | "lastTx"> | undefined,
  reading: Counters,
): Counters {
  return {
    rx: previous ? counterDelta(previous.lastRx, reading.rx) : reading.rx,
    tx: previous ? counterDelta(previous.lastTx, reading.tx) : reading.tx,
  };
}

/**
 * The usage row after a reading taken in `month`. `previous` is the peer's latest row (of any month):
 * in the same month it is extended, otherwise a new month starts from the delta since that reading.
 */
export function accumulate(previous: UsageState | undefined, reading: Counters, month: string): UsageState {
  const { rx, tx } = readingDelta(previous, reading);
  const base = previous && previous.month === month ? previous : { rxBytes: 0, txBytes: 0 };
  return {
    month,
    rxBytes: base.rxBytes + rx,
    txBytes: base.txBytes + tx,
    lastRx: reading.rx,
    lastTx: reading.tx,
  };
}
