import { deserialize, serialize } from 'node:v8';
import { isSparkMesosError, SparkMesosError } from '@spark-mesos/errors';
import {
  type ActionDefinition,
  type LineageNode,
  lineageFunctions,
  type PartitionLineage,
  partitionCount,
  partitionLineage,
} from './lineage.js';
import { type ComposedCaptured, composeTaskSource } from './task-runtime.js';
import type { TaskScheduler, TaskTemplate } from './task-scheduler.js';
import type { TaskFunctionSpec } from './task-spec.js';

/**
 * A stage: the tasks of one set of partitions of one dataset that run together. With only narrow
 * dependencies a job is one result stage; shuffle map stages will be its parents.
 */
export interface Stage {
  readonly id: number;
  readonly jobId: number;
  readonly node: LineageNode;
  readonly partitions: readonly number[];
  readonly parents: readonly Stage[];
}

/**
 * Turns jobs into stages and stages into task sets: it prepares the lineage (lists input files,
 * runs the counting job of `zipWithIndex`), composes one task function per chain of narrow
 * transformations, and hands the task set to the {@link TaskScheduler}.
 */
export class DagScheduler {
  readonly #taskScheduler: TaskScheduler;
  #nextJobId = 0;
  #nextStageId = 0;
  // Concurrent jobs over one lineage prepare it once.
  readonly #preparing = new WeakMap<LineageNode, Promise<void>>();
  readonly #renewing = new WeakMap<LineageNode, Promise<void>>();

  constructor(taskScheduler: TaskScheduler) {
    this.#taskScheduler = taskScheduler;
  }

  /** The number of partitions of `node`, preparing it first. */
  async partitions(node: LineageNode): Promise<number> {
    await this.#prepare(node);
    return partitionCount(node);
  }

  /**
   * Runs `action` on the given partitions of `node` (all by default) and returns each
   * partition's deserialized result, in the order of `partitions`.
   */
  async runJob(node: LineageNode, action: ActionDefinition, partitions?: readonly number[]): Promise<unknown[]> {
    await this.#prepare(node);
    await this.#renewExpiring(node);
    const total = partitionCount(node);
    const wanted = partitions ?? Array.from({ length: total }, (_, index) => index);
    for (const partition of wanted) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= total) {
        throw new SparkMesosError(
          'SM_ERR_BAD_PARTITION',
          `partition ${partition} does not exist: the dataset has partitions 0 to ${total - 1}`,
          { cause: { partition, total } },
        );
      }
    }
    const jobId = this.#nextJobId++;
    const stage: Stage = { id: this.#nextStageId++, jobId, node, partitions: wanted, parents: [] };
    let results: Uint8Array[];
    try {
      results = await this.#taskScheduler.submit({
        jobId,
        stageId: stage.id,
        stageAttempt: 0,
        tasks: this.#taskTemplates(stage, action),
      });
    } catch (error) {
      throw withCulprit(error, node, action);
    }
    return results.map((bytes) => deserialize(bytes));
  }

  #taskTemplates(stage: Stage, action: ActionDefinition): TaskTemplate[] {
    // Partitions with the same chain of nodes share one composed source (usually all of them),
    // and, when no step needs a value of its own partition, one serialized `captured`.
    const functions = new Map<string, TaskFunctionSpec>();
    const sharedCaptured = new Map<string, Uint8Array>();
    return stage.partitions.map((partition) => {
      const lineage = partitionLineage(stage.node, partition);
      const key = `${lineage.source.node.id}:${lineage.steps.map((step) => step.node.id).join(',')}`;
      let fn = functions.get(key);
      if (fn === undefined) {
        const source = composeTaskSource({
          source: lineage.source.node.op,
          steps: lineage.steps.map((step) => ({ op: step.op, fn: step.fn?.source ?? null })),
          action: { op: action.op, fn: action.fn?.source ?? null },
        });
        fn = { kind: 'source', source };
        functions.set(key, fn);
      }
      const shareable =
        action.extraOf === undefined &&
        lineage.steps.every((step) => step.partition === partition && step.extra === null);
      let captured = shareable ? sharedCaptured.get(key) : undefined;
      if (captured === undefined) {
        captured = serialize(composedCaptured(lineage, action, shareable, partition));
        if (shareable) sharedCaptured.set(key, captured);
      }
      // The input is serialized when the task starts, so a pending task holds only its descriptor.
      return { partition, function: fn, captured, input: { value: lineage.source.input } };
    });
  }

  // Sources whose inputs hold read URLs past half their life get fresh ones before a job uses
  // them (same partitions and byte ranges); concurrent jobs share one renewal.
  async #renewExpiring(node: LineageNode): Promise<void> {
    switch (node.kind) {
      case 'source': {
        let renewing = this.#renewing.get(node);
        if (renewing === undefined) {
          const renew = node.renewInputs;
          if (renew === undefined || node.renewInputsAt === undefined || Date.now() < node.renewInputsAt) return;
          if (!Array.isArray(node.inputs)) return;
          renewing = renew(node.inputs).then((renewed) => {
            node.inputs = renewed.inputs;
            node.renewInputsAt = renewed.renewAt;
          });
          this.#renewing.set(node, renewing);
          // Renewed or failed, the next job looks again (a failure fails this job only).
          const forget = () => this.#renewing.delete(node);
          renewing.then(forget, forget);
        }
        return renewing;
      }
      case 'step':
      case 'zipWithIndex':
        return this.#renewExpiring(node.parent);
      case 'union':
        for (const parent of node.parents) await this.#renewExpiring(parent);
        return;
    }
  }

  #prepare(node: LineageNode): Promise<void> {
    let preparing = this.#preparing.get(node);
    if (!preparing) {
      preparing = this.#prepareOnce(node);
      this.#preparing.set(node, preparing);
      // A failed preparation (a missing input) may be retried by the next job.
      preparing.catch(() => this.#preparing.delete(node));
    }
    return preparing;
  }

  async #prepareOnce(node: LineageNode): Promise<void> {
    switch (node.kind) {
      case 'source':
        if (typeof node.inputs === 'function') node.inputs = await node.inputs();
        return;
      case 'step':
        return this.#prepare(node.parent);
      case 'union':
        for (const parent of node.parents) await this.#prepare(parent);
        return;
      case 'zipWithIndex': {
        await this.#prepare(node.parent);
        if (node.offsets) return;
        // Spark's ZippedWithIndexRDD: a first job counts every partition but the last.
        const count = partitionCount(node.parent);
        const counted =
          count > 1
            ? ((await this.runJob(
                node.parent,
                { op: 'count', fn: null, captured: undefined, extra: null },
                Array.from({ length: count - 1 }, (_, index) => index),
              )) as number[])
            : [];
        const offsets = [0];
        for (const value of counted) offsets.push(offsets[offsets.length - 1]! + value);
        node.offsets = offsets.slice(0, Math.max(count, 1));
        return;
      }
    }
  }
}

/**
 * Points a job failure at the user's code: for a driver-only variable, the call that gave the
 * function mentioning it (usually one); for other failures, every function of the stage.
 */
function withCulprit(error: unknown, node: LineageNode, action: ActionDefinition): unknown {
  if (isSparkMesosError(error, 'SM_ERR_JOB_FAILED')) return withStageFunctions(error, node, action);
  if (!isSparkMesosError(error, 'SM_ERR_DRIVER_VARIABLE')) return error;
  const variable = error.details.variable;
  if (typeof variable !== 'string') return error;
  const mention = new RegExp(`(^|[^\\w$.])${variable.replace(/[$]/g, '\\$')}([^\\w$]|$)`);
  const functions = [...lineageFunctions(node), ...(action.fn ? [action.fn] : [])];
  const culprits = functions.filter((fn) => mention.test(fn.source));
  if (culprits.length === 0) return error;
  const where = culprits.map((fn) => `${fn.api} at ${fn.callSite}`).join(', ');
  return new SparkMesosError('SM_ERR_DRIVER_VARIABLE', `${error.message}\nThe function using "${variable}": ${where}`, {
    cause: error,
    details: { ...error.details, functions: culprits.map((fn) => ({ api: fn.api, callSite: fn.callSite })) },
  });
}

/** Lists where the stage's functions were given, so a failure points at the user's code. */
function withStageFunctions(error: SparkMesosError, node: LineageNode, action: ActionDefinition): SparkMesosError {
  const functions = [...lineageFunctions(node), ...(action.fn ? [action.fn] : [])];
  if (functions.length === 0) return error;
  const shown = functions.slice(-10).map((fn) => `${fn.api} at ${fn.callSite}`);
  if (functions.length > 10) shown.unshift(`… ${functions.length - 10} earlier`);
  return new SparkMesosError(error.code, `${error.message}\nFunctions of the stage: ${shown.join(', ')}`, {
    cause: error,
    details: error.details,
  });
}

function composedCaptured(
  lineage: PartitionLineage,
  action: ActionDefinition,
  shared: boolean,
  partition: number,
): ComposedCaptured {
  return {
    values: [...lineage.steps.map((step) => step.captured), action.captured],
    partitions: shared ? null : [...lineage.steps.map((step) => step.partition)],
    extras: [
      ...lineage.steps.map((step) => step.extra),
      action.extraOf === undefined ? action.extra : action.extraOf(partition),
    ],
  };
}
