import { describe, expect, it } from 'vitest';
import type { TaskState } from './generated/mesos-types.js';
import { getMesosSchemaRoot } from './schema.js';
import { isTerminalTaskState, TERMINAL_TASK_STATES } from './task-state.js';

// Every value of mesos.v1.TaskState, read from the compiled schema so a new state cannot slip by.
const ALL_STATES = Object.keys(getMesosSchemaRoot().lookupEnum('mesos.v1.TaskState').values) as TaskState[];

describe('isTerminalTaskState', () => {
  it('is true for the states Mesos treats as terminal (protobuf::isTerminalState)', () => {
    for (const state of [
      'TASK_FINISHED',
      'TASK_FAILED',
      'TASK_KILLED',
      'TASK_ERROR',
      'TASK_LOST',
      'TASK_DROPPED',
      'TASK_GONE',
      'TASK_GONE_BY_OPERATOR',
    ] as const) {
      expect(isTerminalTaskState(state), state).toBe(true);
    }
  });

  it('is false for TASK_UNREACHABLE, TASK_UNKNOWN and the live states', () => {
    for (const state of [
      'TASK_UNREACHABLE',
      'TASK_UNKNOWN',
      'TASK_STAGING',
      'TASK_STARTING',
      'TASK_RUNNING',
      'TASK_KILLING',
    ] as const) {
      expect(isTerminalTaskState(state), state).toBe(false);
    }
  });

  it('classifies every state of the schema, and the list holds only schema states', () => {
    expect(ALL_STATES).toHaveLength(14);
    const terminal = ALL_STATES.filter((state) => isTerminalTaskState(state));
    expect([...terminal].sort()).toEqual([...TERMINAL_TASK_STATES].sort());
  });

  it('is false for a name this schema does not know', () => {
    expect(isTerminalTaskState('TASK_FROM_THE_FUTURE')).toBe(false);
    expect(isTerminalTaskState('')).toBe(false);
  });

  it('exposes a frozen list', () => {
    expect(Object.isFrozen(TERMINAL_TASK_STATES)).toBe(true);
  });
});
