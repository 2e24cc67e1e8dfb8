import { SparkConf } from '@spark-mesos/config';
import { describeDatasetSuite } from './__test__/dataset-suite.js';
import { createInProcessBackend } from './__test__/in-process-backend.js';
import { SparkContext } from './spark-context.js';

// The scheduler and datasets against the SchedulerBackend interface, with a test double that runs
// tasks in this thread as the executor's runner does. local[2] runs the same suite.
describeDatasetSuite('datasets on the in-process test backend', () =>
  SparkContext.create(new SparkConf().setMaster('local[2]').setAppName('dataset-test'), {
    backend: createInProcessBackend({
      executors: [
        { executorId: 'a', host: 'h1', slots: 2 },
        { executorId: 'b', host: 'h2', slots: 1 },
      ],
    }),
  }),
);
