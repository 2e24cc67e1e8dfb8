import type { MasterStateTask, MesosResourceQuantities } from './operator-master-state.js';

/**
 * The JSON of an agent's `/state` endpoint, typed to what finding a task's sandbox needs, and that
 * lookup: a task's executor `directory` is the sandbox whose `stdout`/`stderr` the agent serves
 * through `/files`.
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/slave/state/
 * @see https://mesos.apache.org/documentation/latest/sandbox/
 * @module
 */

/** An executor in an agent's `/state` (`executors` or `completed_executors`). */
export interface AgentStateExecutor {
  /** Executor id; for a command task, the task id. */
  readonly id: string;
  /** Executor name. */
  readonly name: string;
  /** Source (often the task id). */
  readonly source: string;
  /** Container id of its latest run. */
  readonly container: string;
  /** Its sandbox on the agent host: `<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<id>/runs/<container>`. */
  readonly directory: string;
  /** Resources of the executor and its tasks. */
  readonly resources: MesosResourceQuantities;
  /** Running tasks. */
  readonly tasks: readonly MasterStateTask[];
  /** Tasks not yet handed to the executor. */
  readonly queued_tasks: readonly MasterStateTask[];
  /** Finished tasks. */
  readonly completed_tasks: readonly MasterStateTask[];
}

/** A framework in an agent's `/state` (`frameworks` or `completed_frameworks`). */
export interface AgentStateFramework {
  /** Framework id. */
  readonly id: string;
  /** Framework name. */
  readonly name: string;
  /** User. */
  readonly user: string;
  /** Whether it checkpoints. @default undefined */
  readonly checkpoint?: boolean;
  /** Live executors. */
  readonly executors: readonly AgentStateExecutor[];
  /** Finished executors (their sandboxes stay until garbage collection, `--gc_delay`). */
  readonly completed_executors: readonly AgentStateExecutor[];
}

/** The JSON of an agent's `/state`. */
export interface AgentState {
  /** Mesos version. */
  readonly version: string;
  /** Agent id. */
  readonly id: string;
  /** libprocess pid, e.g. `slave(1)@10.0.0.5:5051`. */
  readonly pid: string;
  /** Host name. */
  readonly hostname: string;
  /** Total resources. */
  readonly resources: MesosResourceQuantities;
  /** Attributes. */
  readonly attributes: Readonly<Record<string, string | number>>;
  /** The agent's flags, as text (`work_dir` among them). */
  readonly flags: Readonly<Record<string, string>>;
  /** Frameworks with live executors. */
  readonly frameworks: readonly AgentStateFramework[];
  /** Frameworks whose executors all finished. */
  readonly completed_frameworks: readonly AgentStateFramework[];
}

/** Where a task's sandbox is on an agent. */
export interface TaskSandbox {
  /** The framework id. */
  readonly frameworkId: string;
  /** The executor id (the task id for a command task). */
  readonly executorId: string;
  /** The sandbox directory on the agent host (pass it to the `/files` reads). */
  readonly directory: string;
  /**
   * The agent's virtual path of the executor's latest run,
   * `/frameworks/<fw>/executors/<executor>/runs/latest`, also readable through `/files`.
   */
  readonly virtualDirectory: string;
  /** Whether the executor has finished (`completed_executors`). */
  readonly completed: boolean;
}

/**
 * The agent's virtual path of an executor's latest sandbox, which `/files/browse` and
 * `/files/read` accept (and keep serving after the executor finished, until garbage collection).
 *
 * @see https://mesos.apache.org/documentation/latest/sandbox/
 */
export function virtualSandboxPath(frameworkId: string, executorId: string): string {
  return `/frameworks/${frameworkId}/executors/${executorId}/runs/latest`;
}

/**
 * Finds the sandbox of task `taskId` in an agent's `/state`: the `directory` of the executor
 * that runs (or ran) it, looking at live and completed executors of live and completed
 * frameworks. Command tasks have an executor whose id is the task id.
 *
 * @returns the sandbox, or `undefined` when the agent does not know the task (wrong agent, or
 *   its sandbox was garbage-collected)
 * @see https://mesos.apache.org/documentation/latest/endpoints/slave/state/
 */
export function findTaskSandbox(state: AgentState, taskId: string, frameworkId?: string): TaskSandbox | undefined {
  for (const framework of [...state.frameworks, ...state.completed_frameworks]) {
    if (frameworkId !== undefined && framework.id !== frameworkId) continue;
    const groups: Array<[readonly AgentStateExecutor[] | undefined, boolean]> = [
      [framework.executors, false],
      [framework.completed_executors, true],
    ];
    for (const [executors, completed] of groups) {
      for (const executor of executors ?? []) {
        const runs = [...(executor.tasks ?? []), ...(executor.queued_tasks ?? []), ...(executor.completed_tasks ?? [])];
        if (executor.id === taskId || runs.some((task) => task.id === taskId)) {
          return {
            frameworkId: framework.id,
            executorId: executor.id,
            directory: executor.directory,
            virtualDirectory: virtualSandboxPath(framework.id, executor.id),
            completed,
          };
        }
      }
    }
  }
  return undefined;
}
