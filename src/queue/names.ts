/** The queues wiresync runs. A worker process serves any subset of them (`WORKER_QUEUES`). */
export const QUEUE_NAMES = ["peer-sync", "config-push", "email", "webhook"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
