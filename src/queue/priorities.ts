/**
 * Three priority levels mapped onto BullMQ's numbers (1 is the highest). Every job gets one: BullMQ runs
 * a job without a priority before all prioritised ones, which would let bulk work jump the line.
 */
export const PRIORITIES = ["critical", "default", "low"] as const;
export type Priority = (typeof PRIORITIES)[number];

const BULLMQ_PRIORITY: Record<Priority, number> = { critical: 1, default: 5, low: 10 };

/** The BullMQ priority number of a level. */
export function toBullPriority(priority: Priority): number {
  return BULLMQ_PRIORITY[priority];
}
