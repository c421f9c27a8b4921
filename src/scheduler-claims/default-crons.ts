/**
 * When the cron ticks fire unless told otherwise: the defaults of `NODE_LIVENESS_CRON`,
 * `RETENTION_CRON` and `QUOTA_RESTORE_CRON` (src/config.ts) and of the scheduler's `crons`. Pure
 * data, imported by config without the rest of this module.
 */
export const DEFAULT_TICK_CRONS = {
  nodeLiveness: "* * * * *",
  retention: "17 * * * *",
  quotaRestore: "* * * * *",
  hubKeyRotation: "*/10 * * * * *",
} as const;
