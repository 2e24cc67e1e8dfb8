import { describe, expect, it } from 'vitest';
import { SCHEDULER_CALL_CODECS } from './codec.js';
import {
  buildSchedulerCall,
  buildSubscribeCall,
  createOperation,
  destroyOperation,
  filters,
  launchGroupOperation,
  launchOperation,
  reserveOperation,
  unreserveOperation,
} from './scheduler-calls.js';

const cpus = { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 1 } };

describe('scheduler call builders', () => {
  it('puts the payload in the field of the call type', () => {
    expect(buildSchedulerCall('f1', 'KILL', { task_id: { value: 't' } })).toEqual({
      type: 'KILL',
      framework_id: { value: 'f1' },
      kill: { task_id: { value: 't' } },
    });
    expect(buildSchedulerCall('f1', 'TEARDOWN')).toEqual({ type: 'TEARDOWN', framework_id: { value: 'f1' } });
    expect(buildSchedulerCall('f1', 'ACCEPT_INVERSE_OFFERS', { inverse_offer_ids: [] })).toHaveProperty(
      'accept_inverse_offers',
    );
  });

  it('re-subscribes with both framework_id and framework_info.id', () => {
    const call = buildSubscribeCall({ user: 'root', name: 'n' }, 'fw-1');
    expect(call.framework_id).toEqual({ value: 'fw-1' });
    expect(call.subscribe?.framework_info.id).toEqual({ value: 'fw-1' });
    const first = buildSubscribeCall({ user: 'root', name: 'n', id: { value: 'stale' } }, undefined);
    expect(first.framework_id).toBeUndefined();
    expect(first.subscribe?.framework_info.id).toBeUndefined();
  });

  it('builds operations that encode in both encodings', () => {
    const operations = [
      launchOperation([{ name: 't', task_id: { value: 't' }, agent_id: { value: 'a' }, resources: [cpus] }]),
      launchGroupOperation({ executor_id: { value: 'e' } }, { tasks: [] }),
      reserveOperation([cpus], { id: 'op-1' }),
      unreserveOperation([cpus]),
      createOperation([cpus]),
      destroyOperation([cpus], { id: { value: 'op-2' } }),
    ];
    expect(operations.map((operation) => operation.type)).toEqual([
      'LAUNCH',
      'LAUNCH_GROUP',
      'RESERVE',
      'UNRESERVE',
      'CREATE',
      'DESTROY',
    ]);
    expect(operations[2]!.id).toEqual({ value: 'op-1' });
    const call = buildSchedulerCall('f', 'ACCEPT', {
      offer_ids: [{ value: 'o' }],
      operations,
      filters: filters({ refuseSeconds: 5 }),
    });
    for (const encoding of ['protobuf', 'json'] as const) {
      const codec = SCHEDULER_CALL_CODECS[encoding];
      expect(codec.decode(codec.encode(call))).toEqual({
        ...call,
        accept: {
          ...call.accept,
          operations: operations.map((operation) =>
            operation.type === 'LAUNCH_GROUP'
              ? { ...operation, launch_group: { executor: { executor_id: { value: 'e' } }, task_group: {} } }
              : operation,
          ),
        },
      });
    }
  });

  it('builds filters', () => {
    expect(filters({ refuseSeconds: 5 })).toEqual({ refuse_seconds: 5 });
    expect(filters()).toEqual({});
  });
});
