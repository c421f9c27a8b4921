import type { SyncRunItem, SyncType } from "../db/index.js";

/** What a sync run does, one network at a time. */
export const TASK_KINDS = ["peers", "configs", "usage"] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export interface SyncTask {
  kind: TaskKind;
  /** The network the task works on. */
  networkId: string;
  networkName: string;
}

export interface TaskResult {
  ok: boolean;
  /** One line for the run's record: what was done, or why it failed. No secrets. */
  note: string;
}

/** Runs one kind of task. Implementations throw only for transient failures that should retry the run. */
export type TaskHandler = (
  task: SyncTask,
  run: { id: string; removeUnknown: boolean },
) => Promise<TaskResult>;

export type TaskHandlers = Record<TaskKind, TaskHandler>;

/** The task kinds a run of `type` performs for each network, in order. Pure. */
export function kindsFor(type: SyncType, options: { skipUsage?: boolean | undefined }): TaskKind[] {
  switch (type) {
    case "full":
      return options.skipUsage ? ["peers", "configs"] : ["peers", "configs", "usage"];
    case "peers":
    case "drift-fix":
      return ["peers"];
    case "configs":
      return ["configs"];
    case "usage":
      return ["usage"];
  }
}

/** Plans the tasks of a run: for each network, each kind in order. Pure. */
export function planTasks(
  type: SyncType,
  options: { skipUsage?: boolean | undefined },
  networks: readonly { id: string; name: string }[],
): SyncTask[] {
  const kinds = kindsFor(type, options);
  return networks.flatMap((n) => kinds.map((kind) => ({ kind, networkId: n.id, networkName: n.name })));
}

/** The record line of a finished task. */
export function itemOf(task: SyncTask, result: TaskResult): SyncRunItem {
  return { kind: task.kind, id: task.networkId, name: task.networkName, ok: result.ok, note: result.note };
}
