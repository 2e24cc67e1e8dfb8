import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSchemaSources, OUTPUT_FILES, PACKAGE_DIR, tsNameOf } from '../scripts/generate-schema.mjs';
import { getMesosSchemaRoot, lookupMesosType } from './schema.js';

describe('generated schema files', () => {
  it('are up to date with proto/ (run `node scripts/generate-schema.mjs` when this fails)', () => {
    const sources = generateSchemaSources();
    expect(readFileSync(join(PACKAGE_DIR, OUTPUT_FILES.descriptor), 'utf8')).toBe(sources.descriptor);
    expect(readFileSync(join(PACKAGE_DIR, OUTPUT_FILES.types), 'utf8')).toBe(sources.types);
  });

  it('names nested and API types as agreed', () => {
    expect(tsNameOf('.mesos.v1.TaskInfo')).toBe('TaskInfo');
    expect(tsNameOf('.mesos.v1.Offer.Operation')).toBe('OfferOperation');
    expect(tsNameOf('.mesos.v1.TaskStatus.Reason')).toBe('TaskStatusReason');
    expect(tsNameOf('.mesos.v1.scheduler.Call.Subscribe')).toBe('SchedulerCallSubscribe');
    expect(tsNameOf('.mesos.v1.scheduler.Event.Offers')).toBe('SchedulerEventOffers');
    expect(tsNameOf('.mesos.v1.executor.Event')).toBe('ExecutorEvent');
  });
});

describe('runtime schema', () => {
  it('loads from the descriptor with Mesos field numbers, rules and defaults', () => {
    const info = lookupMesosType('mesos.v1.FrameworkInfo');
    expect(info.fields.user?.id).toBe(1);
    expect(info.fields.user?.required).toBe(true);
    expect(info.fields.failover_timeout?.id).toBe(4);
    expect(info.fields.role?.options?.default).toBe('*');
    expect(info.fields.offer_filters?.id).toBe(13);
    const call = lookupMesosType('.mesos.v1.scheduler.Call');
    expect(call.fields.acknowledge_operation_status?.id).toBe(17);
    expect(getMesosSchemaRoot().lookupEnum('mesos.v1.TaskState').values.TASK_UNKNOWN).toBe(13);
    expect(getMesosSchemaRoot().lookupEnum('mesos.v1.scheduler.Event.Type').values.UPDATE_OPERATION_STATUS).toBe(11);
  });

  it('rejects unknown message names with SM_ERR_MESOS_SCHEMA', () => {
    expect(() => lookupMesosType('mesos.v1.NoSuchThing')).toThrow(
      expect.objectContaining({ code: 'SM_ERR_MESOS_SCHEMA' }),
    );
    expect(() => lookupMesosType('mesos.v1.TaskState')).toThrow(/Unknown Mesos message type 'mesos.v1.TaskState'/);
  });
});
