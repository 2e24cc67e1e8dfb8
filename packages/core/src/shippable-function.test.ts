import { describe, expect, it } from 'vitest';
import { checkCapturedValues, describeTaskError, shippableFunction } from './shippable-function.js';

function codeAndMessage(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('shippableFunction', () => {
  it('accepts arrows and function expressions and keeps their source', () => {
    expect(shippableFunction('api', (x: number) => x + 1).source).toBe('(x) => x + 1');
    expect(
      shippableFunction('api', function named(x: number) {
        return x;
      }).source,
    ).toMatch(/^function named\(x\)/);
  });

  it('names the call site in this file', () => {
    const error = codeAndMessage(() => shippableFunction('dataset.map(fn)', Math.sqrt));
    expect(error.code).toBe('SM_ERR_FUNCTION_NOT_SHIPPABLE');
    expect(error.message).toContain('dataset.map(fn) at ');
    expect(error.message).toContain('shippable-function.test.ts:');
    expect(error.message).toContain('native code');
    expect(error.message).toContain('(x) => Math.sqrt(x)');
  });

  it('rejects bound functions, classes and method shorthand with the fix', () => {
    const bound = codeAndMessage(() => shippableFunction('api', ((x: number) => x).bind(null)));
    expect(bound.message).toContain('bound function');
    expect(bound.message).toContain('captured value');
    expect(codeAndMessage(() => shippableFunction('api', class A {})).message).toContain('a class');
    const holder = {
      method(x: number) {
        return x * 2;
      },
    };
    const method = codeAndMessage(() => shippableFunction('api', holder.method));
    expect(method.code).toBe('SM_ERR_FUNCTION_NOT_SHIPPABLE');
    expect(method.message).toContain('cannot be read back as a function expression');
    expect(codeAndMessage(() => shippableFunction('api', 42)).message).toContain('expected a function, got number');
    // Tasks compile functions in strict mode: sloppy-only syntax is refused at the call site.
    const sloppy = new Function('return function (x) { with (Math) { return abs(x); } }')();
    expect(codeAndMessage(() => shippableFunction('api', sloppy)).code).toBe('SM_ERR_FUNCTION_NOT_SHIPPABLE');
  });

  it('allows generators and async functions only where the API does', () => {
    const generator = function* (x: number) {
      yield x;
    };
    expect(codeAndMessage(() => shippableFunction('api', generator)).message).toContain('generator');
    expect(shippableFunction('api', generator, { allowGenerator: true }).source).toMatch(/^function\*/);
    const asynchronous = async (x: number) => x;
    expect(codeAndMessage(() => shippableFunction('api', asynchronous)).message).toContain('async');
    expect(shippableFunction('api', asynchronous, { allowAsync: true }).source).toMatch(/^async/);
  });
});

describe('checkCapturedValues', () => {
  it('passes plain data and rejects what v8.serialize cannot copy', () => {
    expect(checkCapturedValues('api', { k: 3, m: new Map([[1, 2]]) }, 'here')).toEqual({ k: 3, m: new Map([[1, 2]]) });
    const error = codeAndMessage(() => checkCapturedValues('dataset.map(fn)', { f: () => 1 }, 'job.mjs:3:4'));
    expect(error.code).toBe('SM_ERR_CAPTURED_NOT_SERIALIZABLE');
    expect(error.message).toContain('dataset.map(fn) at job.mjs:3:4');
    expect(error.message).toContain('v8.serialize');
  });
});

describe('describeTaskError', () => {
  it('turns "x is not defined" into the captured-values rule', () => {
    const described = describeTaskError({ name: 'ReferenceError', message: 'factor is not defined' });
    expect(described.driverVariable).toBe('factor');
    expect(described.text).toContain('Pass it in the captured values');
    expect(described.text).toContain('{ factor }');
    expect(describeTaskError({ name: 'TypeError', message: 'x is not defined' }).driverVariable).toBeUndefined();
  });
});
