import { describe, expect, it } from 'vitest';
import { OFFER_MATCHER_CONFIG_KEYS } from './config-keys.js';
import { offerMatcherSettingsFrom, resolveOfferMatcherSettings } from './settings.js';

describe('OFFER_MATCHER_CONFIG_KEYS', () => {
  it('lists our keys, once each, and only keys offerMatcherSettingsFrom reads', () => {
    const read = new Set<string>();
    offerMatcherSettingsFrom((key) => {
      read.add(key);
      return undefined;
    });
    const keys = OFFER_MATCHER_CONFIG_KEYS.map((item) => item.key);
    expect(keys).toEqual([
      'spark.mesos.maxAgentFailures',
      'spark.mesos.agentFailureExpiry',
      'spark.mesos.placement',
      'spark.mesos.acceptRevocableResources',
      'spark.mesos.maintenanceHorizon',
      'spark.mesos.executor.disk',
      'spark.mesos.fineGrained.memoryHeadroom',
    ]);
    for (const key of keys) expect(read.has(key)).toBe(true);
  });

  it('states the defaults the settings apply', () => {
    const defaults = new Map(
      OFFER_MATCHER_CONFIG_KEYS.filter((item) => item.default !== undefined).map((item) => [item.key, item.default]),
    );
    const fromDefaults = resolveOfferMatcherSettings(offerMatcherSettingsFrom((key) => defaults.get(key)));
    expect(fromDefaults).toEqual(resolveOfferMatcherSettings({}));
    // A key without a default is off when unset.
    expect(resolveOfferMatcherSettings({}).agentFailureExpirySeconds).toBeUndefined();
  });

  it('reads a plain number in the unit it declares', () => {
    const read = (key: string, value: string) =>
      offerMatcherSettingsFrom((asked) => (asked === key ? value : undefined));
    expect(read('spark.mesos.fineGrained.memoryHeadroom', '64')).toEqual({ fineGrainedMemoryHeadroomMiB: 64 });
    expect(read('spark.mesos.executor.disk', '100')).toEqual({ executorDiskMiB: 100 });
    expect(read('spark.mesos.maintenanceHorizon', '90')).toEqual({ maintenanceHorizonSeconds: 90 });
    expect(read('spark.mesos.agentFailureExpiry', '30')).toEqual({ agentFailureExpirySeconds: 30 });
    const units = new Map(OFFER_MATCHER_CONFIG_KEYS.map((item) => [item.key, item.unit]));
    expect(units.get('spark.mesos.fineGrained.memoryHeadroom')).toBe('m');
    expect(units.get('spark.mesos.maintenanceHorizon')).toBe('s');
  });

  it('is frozen, so no caller changes what another registers', () => {
    expect(Object.isFrozen(OFFER_MATCHER_CONFIG_KEYS)).toBe(true);
    for (const item of OFFER_MATCHER_CONFIG_KEYS) expect(Object.isFrozen(item)).toBe(true);
  });
});
