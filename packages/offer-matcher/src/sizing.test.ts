import { isSparkMesosError } from '@spark-mesos/errors';
import { describe, expect, it } from 'vitest';
import { offerMatcherSettingsFrom, resolveOfferMatcherSettings } from './settings.js';
import { coarseExecutorCores, effectiveCoresMax, executorMemoryMiB } from './sizing.js';

const fromConf = (conf: Record<string, string>) =>
  resolveOfferMatcherSettings(offerMatcherSettingsFrom((key) => conf[key]));

describe('executor memory (MesosSchedulerUtilsSuite)', () => {
  it('use at-least minimum overhead', () => {
    expect(executorMemoryMiB(fromConf({ 'spark.executor.memory': '512m' }))).toBe(896);
    expect(executorMemoryMiB(fromConf({}))).toBe(1408);
  });

  it('use overhead if it is greater than minimum value', () => {
    expect(executorMemoryMiB(fromConf({ 'spark.executor.memory': '4g' }))).toBe(4505);
  });

  it('use spark.mesos.executor.memoryOverhead (if set)', () => {
    expect(
      executorMemoryMiB(fromConf({ 'spark.executor.memory': '1024', 'spark.mesos.executor.memoryOverhead': '512' })),
    ).toBe(1536);
    expect(
      executorMemoryMiB(
        fromConf({
          'spark.mesos.executor.memoryOverhead': '512',
          'spark.executor.memoryOverhead': '1g',
        }),
      ),
    ).toBe(1536);
    expect(executorMemoryMiB(fromConf({ 'spark.executor.memoryOverhead': '1g' }))).toBe(2048);
    expect(
      executorMemoryMiB(fromConf({ 'spark.executor.memory': '8g', 'spark.executor.memoryOverheadFactor': '0.2' })),
    ).toBe(8192 + 1638);
  });
});

describe('executor cores', () => {
  it('rounds spark.cores.max down to a multiple of spark.executor.cores', () => {
    expect(effectiveCoresMax(fromConf({ 'spark.cores.max': '4', 'spark.executor.cores': '3' }))).toBe(3);
    expect(effectiveCoresMax(fromConf({ 'spark.cores.max': '10' }))).toBe(10);
    expect(effectiveCoresMax(fromConf({}))).toBe(Number.POSITIVE_INFINITY);
  });

  it('takes all whole offered cores up to what is left of spark.cores.max when executor cores are unset', () => {
    expect(coarseExecutorCores(fromConf({}), 10.5, 0)).toBe(10);
    expect(coarseExecutorCores(fromConf({ 'spark.cores.max': '10' }), 11, 0)).toBe(10);
    expect(coarseExecutorCores(fromConf({ 'spark.cores.max': '10' }), 11, 8)).toBe(2);
    expect(coarseExecutorCores(fromConf({ 'spark.executor.cores': '4' }), 11, 8)).toBe(4);
  });
});

describe('offerMatcherSettingsFrom', () => {
  it("applies Spark's defaults", () => {
    const settings = fromConf({});
    expect(settings.rejectOfferDurationSeconds).toBe(120);
    expect(settings.rejectOfferDurationForUnmetConstraintsSeconds).toBe(120);
    expect(settings.rejectOfferDurationForReachedMaxCoresSeconds).toBe(120);
    expect(settings.maxAgentFailures).toBe(2);
    expect(settings.taskCpus).toBe(1);
    expect(settings.placement).toBe('spread');
    expect(settings.maintenanceHorizonSeconds).toBe(3600);
  });

  it('reads durations, ports, constraints and placement', () => {
    const settings = fromConf({
      'spark.mesos.rejectOfferDuration': '2min',
      'spark.mesos.rejectOfferDurationForReachedMaxCores': '600',
      'spark.blockManager.port': '30100',
      'spark.mesos.constraints': 'zone:us-east-1a',
      'spark.locality.wait': '500ms',
      'spark.mesos.placement': 'pack',
      'spark.mesos.maxAgentFailures': '5',
      'spark.mesos.maintenanceHorizon': '30min',
      'spark.mesos.executor.disk': '2g',
    });
    expect(settings.rejectOfferDurationSeconds).toBe(120);
    expect(settings.rejectOfferDurationForUnmetConstraintsSeconds).toBe(120);
    expect(settings.rejectOfferDurationForReachedMaxCoresSeconds).toBe(600);
    expect(settings.requiredPorts).toEqual([30100]);
    expect([...(settings.constraints.get('zone') ?? [])]).toEqual(['us-east-1a']);
    expect(settings.localityWaitSeconds).toBe(0.5);
    expect(settings.placement).toBe('pack');
    expect(settings.maxAgentFailures).toBe(5);
    expect(settings.maintenanceHorizonSeconds).toBe(1800);
    expect(settings.executorDiskMiB).toBe(2048);
  });

  it('names the key, the value and the fix in SM_ERR_BAD_CONFIG', () => {
    const attempt = (conf: Record<string, string>) => {
      try {
        fromConf(conf);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const bad = attempt({ 'spark.executor.memory': '2 gigs' });
    expect(isSparkMesosError(bad, 'SM_ERR_BAD_CONFIG')).toBe(true);
    expect((bad as Error).message).toBe(
      'spark.executor.memory="2 gigs" is not valid: set it to a size such as 512m or 2g.',
    );
    expect((attempt({ 'spark.mesos.rejectOfferDuration': 'soon' }) as Error).message).toContain('120s');
    expect((attempt({ 'spark.executor.cores': '1.5' }) as Error).message).toContain('an integer ≥ 1');
    expect((attempt({ 'spark.mesos.placement': 'random' }) as Error).message).toContain('spread or pack');
    expect(isSparkMesosError(attempt({ 'spark.mesos.constraints': 'os:a:b' }), 'SM_ERR_BAD_CONSTRAINTS')).toBe(true);
  });
});
