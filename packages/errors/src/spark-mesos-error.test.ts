import { describe, expect, it } from 'vitest';
import { isSparkMesosError, SparkMesosError } from './spark-mesos-error.js';

describe('SparkMesosError', () => {
  it('carries code, cause and details', () => {
    const cause = new Error('root');
    const error = new SparkMesosError('SM_ERR_BAD_CONFIG', 'bad', { cause, details: { key: 'k' } });
    expect(error.code).toBe('SM_ERR_BAD_CONFIG');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ key: 'k' });
    expect(error.name).toBe('SparkMesosError');
    expect(error).toBeInstanceOf(Error);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'SparkMesosError',
      code: 'SM_ERR_BAD_CONFIG',
      message: 'bad',
      details: { key: 'k' },
    });
  });

  it('is recognised across copies of the package through its marker', () => {
    const foreign = Object.assign(new Error('from another copy'), { code: 'SM_ERR_X' });
    Object.defineProperty(foreign, Symbol.for('@spark-mesos/errors.SparkMesosError'), { value: true });
    expect(foreign instanceof SparkMesosError).toBe(true);
    expect(isSparkMesosError(foreign, 'SM_ERR_X')).toBe(true);
    expect(isSparkMesosError(foreign, 'SM_ERR_Y')).toBe(false);
    expect(new Error('plain') instanceof SparkMesosError).toBe(false);
    expect(isSparkMesosError(null)).toBe(false);
    expect(isSparkMesosError('SM_ERR_X')).toBe(false);
  });

  it('keeps ordinary instanceof for subclasses', () => {
    class NotLeaderError extends SparkMesosError {}
    const base = new SparkMesosError('SM_ERR_A', 'a', { cause: null });
    const sub = new NotLeaderError('SM_ERR_B', 'b', { cause: null });
    expect(sub instanceof NotLeaderError).toBe(true);
    expect(sub instanceof SparkMesosError).toBe(true);
    expect(base instanceof NotLeaderError).toBe(false);
  });
});
