/**
 * Quota thresholds. Pure: which thresholds a node's monthly usage has newly crossed, given the ones
 * already recorded this month. Usage is what `src/usage` accumulated (counter resets already handled),
 * so a reading can only add crossings, never repeat one.
 */

/** Percent of a quota at which wiresync acts: a warning at 80, a disable at 100. */
export const QUOTA_THRESHOLDS = [80, 100] as const;
export type QuotaThreshold = (typeof QUOTA_THRESHOLDS)[number];

/** The threshold at which a node is disabled. */
export const QUOTA_LIMIT: QuotaThreshold = 100;

/**
 * True when `usedBytes` has reached `threshold` percent of `quotaBytes`. Integer arithmetic: 80 % of
 * 1,000 bytes is reached at exactly 800, not at 799.99.
 */
export function hasReached(usedBytes: number, quotaBytes: number, threshold: QuotaThreshold): boolean {
  return usedBytes * 100 >= quotaBytes * threshold;
}

/**
 * The thresholds `usedBytes` has reached and that are not in `recorded` (this month's), lowest first.
 * A jump straight past both yields both. Empty for a quota of null or below 1 byte.
 */
export function newCrossings(
  usedBytes: number,
  quotaBytes: number | null,
  recorded: readonly number[],
): QuotaThreshold[] {
  if (quotaBytes === null || quotaBytes < 1) return [];
  return QUOTA_THRESHOLDS.filter((t) => !recorded.includes(t) && hasReached(usedBytes, quotaBytes, t));
}
