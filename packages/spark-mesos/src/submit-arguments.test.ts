import { expect, it } from 'vitest';
import { parseSubmitArguments } from './submit-arguments.js';

it('reads options up to the application file and leaves the rest to the application', () => {
  expect(
    parseSubmitArguments(
      ['--master', 'local[2]', '--conf', 'a=1', '--conf=b=2', '--name=pi', 'app.js', '--master', 'x', '--help'],
      'spark-mesos submit',
    ),
  ).toEqual({
    help: false,
    verbose: false,
    master: 'local[2]',
    conf: ['a=1', 'b=2'],
    name: 'pi',
    app: 'app.js',
    appArgs: ['--master', 'x', '--help'],
  });
  expect(parseSubmitArguments(['--verbose', '--', '-odd-name.js', '1'], 'c')).toMatchObject({
    verbose: true,
    app: '-odd-name.js',
    appArgs: ['1'],
  });
});

it('names an unknown option and a missing value as usage errors', () => {
  expect(() => parseSubmitArguments(['--jars', 'x.jar', 'app.js'], 'spark-mesos submit')).toThrow(
    expect.objectContaining({ code: 'SM_ERR_USAGE', message: expect.stringContaining('unknown option "--jars"') }),
  );
  expect(() => parseSubmitArguments(['--master'], 'spark-mesos submit')).toThrow(/--master needs a value/);
});
