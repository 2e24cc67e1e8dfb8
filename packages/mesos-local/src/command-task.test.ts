// The environment of a container's process: plain variables and secrets of type VALUE.
import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { resolveEnvironment } from './command-task.js';

describe('resolveEnvironment', () => {
  it('resolves plain variables and value secrets', () => {
    expect(
      resolveEnvironment({
        variables: [
          { name: 'PLAIN', value: 'p' },
          { name: 'TYPED', type: 'VALUE', value: 't' },
          { name: 'EMPTY' },
          { name: 'SECRET', type: 'SECRET', secret: { type: 'VALUE', value: { data: Buffer.from('s3cr3t') } } },
        ],
      }),
    ).toEqual({ PLAIN: 'p', TYPED: 't', EMPTY: '', SECRET: 's3cr3t' });
    expect(resolveEnvironment(undefined)).toEqual({});
  });

  it('refuses a secret by reference, naming the variable but never a value', () => {
    let thrown: unknown;
    try {
      resolveEnvironment({
        variables: [{ name: 'TOKEN', type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/vault/x' } } }],
      });
    } catch (error) {
      thrown = error;
    }
    expect(isSparkMesosError(thrown, 'SM_ERR_TASK_LAUNCH')).toBe(true);
    expect((thrown as Error).message).toContain("'TOKEN'");
  });

  it('refuses a secret without data', () => {
    expect(() => resolveEnvironment({ variables: [{ name: 'X', type: 'SECRET', secret: { type: 'VALUE' } }] })).toThrow(
      /'X' of type SECRET has no secret value/,
    );
  });
});
