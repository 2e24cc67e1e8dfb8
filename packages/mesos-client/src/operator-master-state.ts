import type { TaskState } from './generated/mesos-types.js';

/**
 * The JSON of a master's `/master/state` endpoint, typed to the fields a driver or a person
 * debugging a job reads. Mesos writes every number as a JSON number, counts included, often as a
 * float (`"unreachable_slaves": 0.0`), so every count is a `number`. Fields not listed here are
 * still in the parsed object.
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/master/state/
 * @module
 */

/**
 * Resources as the state endpoints print them: scalars as numbers (`cpus: 0.1`, `mem: 32.0`),
 * ranges and sets as text (`ports: "[31000-32000]"`).
 */
export type MesosResourceQuantities = Readonly<Record<string, number | string>>;

/** One status of a task in `/master/state` (or an agent's `/state`). */
export interface MasterStateTaskStatus {
  /** E.g. `TASK_RUNNING`. */
  readonly state: TaskState;
  /** Seconds since the epoch (float). */
  readonly timestamp: number;
  /** Human-readable explanation, e.g. "Command exited with status 1". @default undefined */
  readonly message?: string;
  /** E.g. `REASON_COMMAND_EXECUTOR_FAILED`. @default undefined */
  readonly reason?: string;
  /** E.g. `SOURCE_EXECUTOR`. @default undefined */
  readonly source?: string;
  /** Health check result. @default undefined */
  readonly healthy?: boolean;
  /** Container id and network addresses. @default undefined */
  readonly container_status?: {
    readonly container_id?: { readonly value: string };
    readonly network_infos?: ReadonlyArray<{
      readonly ip_addresses?: ReadonlyArray<{ readonly protocol?: string; readonly ip_address?: string }>;
    }>;
  };
}

/** A task in `/master/state` (or an agent's `/state`). */
export interface MasterStateTask {
  /** Task id. */
  readonly id: string;
  /** Task name. */
  readonly name: string;
  /** Framework id. */
  readonly framework_id: string;
  /** Executor id; `""` for a command task (its executor id is the task id). */
  readonly executor_id: string;
  /** Agent id (Mesos still names it `slave_id`). */
  readonly slave_id: string;
  /** Latest state. */
  readonly state: TaskState;
  /** Resources of the task. */
  readonly resources: MesosResourceQuantities;
  /** Role the resources are allocated to. @default undefined */
  readonly role?: string;
  /** Every status update, oldest first. */
  readonly statuses: readonly MasterStateTaskStatus[];
}

/** An agent in `/master/state`. */
export interface MasterStateAgent {
  /** Agent id. */
  readonly id: string;
  /** Host name the agent advertises (what a driver connects to). */
  readonly hostname: string;
  /** Agent HTTP port. */
  readonly port: number;
  /** libprocess pid, e.g. `slave(1)@10.0.0.5:5051`. */
  readonly pid: string;
  /** Attributes (`--attributes`): text or numbers. */
  readonly attributes: Readonly<Record<string, string | number>>;
  /** Total resources. */
  readonly resources: MesosResourceQuantities;
  /** Resources used by tasks. */
  readonly used_resources: MesosResourceQuantities;
  /** Resources currently offered. */
  readonly offered_resources: MesosResourceQuantities;
  /** Reserved resources, by role. */
  readonly reserved_resources: Readonly<Record<string, MesosResourceQuantities>>;
  /** Unreserved resources. */
  readonly unreserved_resources: MesosResourceQuantities;
  /** Whether the agent is active (connected and not deactivated). */
  readonly active: boolean;
  /** Whether an operator deactivated (drained) it. @default undefined */
  readonly deactivated?: boolean;
  /** Seconds since the epoch (float). */
  readonly registered_time: number;
  /** Mesos version of the agent. @default undefined */
  readonly version?: string;
  /** Agent capabilities. @default undefined */
  readonly capabilities?: readonly string[];
}

/** A framework in `/master/state` (`frameworks` or `completed_frameworks`). */
export interface MasterStateFramework {
  /** Framework id. */
  readonly id: string;
  /** Framework name. */
  readonly name: string;
  /** User the tasks run as. */
  readonly user: string;
  /** Host name the scheduler reported. */
  readonly hostname: string;
  /** Web UI of the framework (`""` when none). */
  readonly webui_url: string;
  /** Whether the framework is active. */
  readonly active: boolean;
  /** Whether its scheduler is connected. */
  readonly connected: boolean;
  /** Whether it is recovered after a master failover but not yet re-subscribed. @default undefined */
  readonly recovered?: boolean;
  /** Its role (deprecated single role). @default undefined */
  readonly role?: string;
  /** Its roles (MULTI_ROLE frameworks). @default undefined */
  readonly roles?: readonly string[];
  /** Principal it authenticated as. @default undefined */
  readonly principal?: string;
  /** Whether it checkpoints. @default undefined */
  readonly checkpoint?: boolean;
  /** Failover timeout, in seconds. @default undefined */
  readonly failover_timeout?: number;
  /** Seconds since the epoch (float). */
  readonly registered_time: number;
  /** Seconds since the epoch, 0 while registered (float). */
  readonly unregistered_time: number;
  /** Capabilities. @default undefined */
  readonly capabilities?: readonly string[];
  /** Resources allocated. */
  readonly resources: MesosResourceQuantities;
  /** Resources used by tasks. */
  readonly used_resources: MesosResourceQuantities;
  /** Resources offered. */
  readonly offered_resources: MesosResourceQuantities;
  /** Live tasks. */
  readonly tasks: readonly MasterStateTask[];
  /** Finished tasks, up to `--max_completed_tasks_per_framework`. */
  readonly completed_tasks: readonly MasterStateTask[];
  /** Tasks on unreachable agents. @default undefined */
  readonly unreachable_tasks?: readonly MasterStateTask[];
}

/** The JSON of `/master/state`. */
export interface MasterState {
  /** Mesos version, e.g. `1.12.0`. */
  readonly version: string;
  /** Master id. */
  readonly id: string;
  /** libprocess pid of this master. */
  readonly pid: string;
  /** Host name of this master. */
  readonly hostname: string;
  /** libprocess pid of the leader; absent while there is none. @default undefined */
  readonly leader?: string;
  /** The leader's MasterInfo. @default undefined */
  readonly leader_info?: {
    readonly id: string;
    readonly pid: string;
    readonly port: number;
    readonly hostname: string;
  };
  /** Seconds since the epoch (float). */
  readonly start_time: number;
  /** When this master was elected (float), absent when it is not the leader. @default undefined */
  readonly elected_time?: number;
  /** Active agents (a float in Mesos' JSON, e.g. `2.0`). */
  readonly activated_slaves: number;
  /** Deactivated agents. */
  readonly deactivated_slaves: number;
  /** Unreachable agents. */
  readonly unreachable_slaves: number;
  /** The master's flags, all as text. */
  readonly flags: Readonly<Record<string, string>>;
  /** Registered agents. */
  readonly slaves: readonly MasterStateAgent[];
  /** Frameworks currently known. */
  readonly frameworks: readonly MasterStateFramework[];
  /** Frameworks torn down or whose failover timeout expired. */
  readonly completed_frameworks: readonly MasterStateFramework[];
  /** Tasks of frameworks not re-registered after a master failover (older Mesos). @default undefined */
  readonly orphan_tasks?: readonly MasterStateTask[];
  /** Ids of frameworks not yet re-registered. @default undefined */
  readonly unregistered_frameworks?: readonly string[];
}

/** A task found in a master's state, with its framework and agent. */
export interface MasterStateTaskLocation {
  /** The task. */
  readonly task: MasterStateTask;
  /** Its framework (live or completed). */
  readonly framework: MasterStateFramework;
  /** Its agent, when still registered. @default undefined */
  readonly agent: MasterStateAgent | undefined;
  /** Whether it is in `completed_tasks`. */
  readonly completed: boolean;
}

/**
 * Finds a task (live, completed or unreachable, in live or completed frameworks) in a master's
 * state, with its framework and agent: the first step from a failed task to its sandbox.
 *
 * @see https://mesos.apache.org/documentation/latest/endpoints/master/state/
 */
export function findMasterStateTask(
  state: MasterState,
  taskId: string,
  frameworkId?: string,
): MasterStateTaskLocation | undefined {
  for (const framework of [...state.frameworks, ...state.completed_frameworks]) {
    if (frameworkId !== undefined && framework.id !== frameworkId) continue;
    const lists: Array<[readonly MasterStateTask[] | undefined, boolean]> = [
      [framework.tasks, false],
      [framework.unreachable_tasks, false],
      [framework.completed_tasks, true],
    ];
    for (const [tasks, completed] of lists) {
      const task = tasks?.find((candidate) => candidate.id === taskId);
      if (task) {
        const agent = state.slaves.find((candidate) => candidate.id === task.slave_id);
        return { task, framework, agent, completed };
      }
    }
  }
  return undefined;
}
