import type { ShippableFunction } from './shippable-function.js';
import type { ActionOp, SourceOp, StepOp } from './task-runtime.js';

/** Where a dataset's partitions come from. Loaded lazily (a text file is listed at the first job). */
export interface SourceNode {
  readonly kind: 'source';
  readonly id: number;
  readonly op: SourceOp;
  /** One input per partition, or a loader run once at the first job. */
  inputs: unknown[] | (() => Promise<unknown[]>);
  /**
   * When the loaded inputs should be renewed (ms since the epoch): they hold read URLs that
   * expire (presigned S3 GETs). Set by the loader; undefined when nothing expires.
   */
  renewInputsAt?: number;
  /**
   * Makes the same inputs again with fresh read URLs (same partitions, same byte ranges), and
   * the next time to renew them. Set by the loader with {@link SourceNode.renewInputsAt}.
   */
  renewInputs?: (inputs: unknown[]) => Promise<{ inputs: unknown[]; renewAt?: number }>;
}

/** A narrow transformation of one parent, partition by partition. */
export interface StepNode {
  readonly kind: 'step';
  readonly id: number;
  readonly parent: LineageNode;
  readonly op: StepOp;
  readonly fn: ShippableFunction | null;
  readonly captured: unknown;
}

/** The partitions of every parent, one after the other (Spark's `UnionRDD`). */
export interface UnionNode {
  readonly kind: 'union';
  readonly id: number;
  readonly parents: readonly LineageNode[];
}

/** Each item paired with its index; the offsets come from a first job counting partitions. */
export interface ZipWithIndexNode {
  readonly kind: 'zipWithIndex';
  readonly id: number;
  readonly parent: LineageNode;
  offsets?: number[];
}

/** A node of a dataset's lineage graph (only narrow dependencies so far). */
export type LineageNode = SourceNode | StepNode | UnionNode | ZipWithIndexNode;

/** The action a job ends with. */
export interface ActionDefinition {
  readonly op: ActionOp;
  readonly fn: ShippableFunction | null;
  readonly captured: unknown;
  /** Library values: a zero value, a count, a directory. */
  readonly extra: unknown;
  /**
   * Library values of one partition's task, used instead of {@link ActionDefinition.extra} when
   * set (`saveAsTextFile`'s write URL of each part), so a task carries its own value only.
   * @default undefined (every task gets `extra`)
   */
  readonly extraOf?: (partition: number) => unknown;
}

/** What one partition of a dataset is computed from: its source input and its chain of steps. */
export interface PartitionLineage {
  readonly source: { readonly node: SourceNode; readonly input: unknown };
  readonly steps: Array<{
    readonly node: StepNode | ZipWithIndexNode;
    readonly op: StepOp;
    readonly fn: ShippableFunction | null;
    readonly captured: unknown;
    readonly extra: unknown;
    readonly partition: number;
  }>;
}

let nextNodeId = 0;

/** A fresh node id (unique in the process; used to share composed sources between partitions). */
export function newNodeId(): number {
  return nextNodeId++;
}

/** How many partitions a prepared node has. */
export function partitionCount(node: LineageNode): number {
  switch (node.kind) {
    case 'source':
      if (typeof node.inputs === 'function') throw new Error('internal: a source was used before it was prepared');
      return node.inputs.length;
    case 'step':
    case 'zipWithIndex':
      return partitionCount(node.parent);
    case 'union':
      return node.parents.reduce((sum, parent) => sum + partitionCount(parent), 0);
  }
}

/** The lineage of one partition of a prepared node. */
export function partitionLineage(node: LineageNode, partition: number): PartitionLineage {
  switch (node.kind) {
    case 'source': {
      const inputs = node.inputs as unknown[];
      return { source: { node, input: inputs[partition] }, steps: [] };
    }
    case 'step': {
      const lineage = partitionLineage(node.parent, partition);
      lineage.steps.push({ node, op: node.op, fn: node.fn, captured: node.captured, extra: null, partition });
      return lineage;
    }
    case 'zipWithIndex': {
      const lineage = partitionLineage(node.parent, partition);
      const offset = node.offsets?.[partition];
      if (offset === undefined) throw new Error('internal: zipWithIndex was used before it was prepared');
      lineage.steps.push({ node, op: 'zipWithIndex', fn: null, captured: undefined, extra: { offset }, partition });
      return lineage;
    }
    case 'union': {
      let remaining = partition;
      for (const parent of node.parents) {
        const count = partitionCount(parent);
        if (remaining < count) return partitionLineage(parent, remaining);
        remaining -= count;
      }
      throw new Error(`internal: partition ${partition} is beyond the union's partitions`);
    }
  }
}

/** Every user function in the lineage of `node`, for messages. */
export function lineageFunctions(node: LineageNode, found: ShippableFunction[] = []): ShippableFunction[] {
  switch (node.kind) {
    case 'source':
      return found;
    case 'step':
      lineageFunctions(node.parent, found);
      if (node.fn) found.push(node.fn);
      return found;
    case 'zipWithIndex':
      return lineageFunctions(node.parent, found);
    case 'union':
      for (const parent of node.parents) lineageFunctions(parent, found);
      return found;
  }
}
