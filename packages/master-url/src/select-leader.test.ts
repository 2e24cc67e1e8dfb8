import { describe, expect, it } from 'vitest';
import { parseContender, selectLeader } from './select-leader.js';

describe('selectLeader', () => {
  it('takes the lowest sequence', () => {
    expect(selectLeader(['json.info_0000000001', 'json.info_0000000000'])?.name).toBe('json.info_0000000000');
  });

  it('compares numerically across labels, including negative sequences after int32 overflow', () => {
    expect(selectLeader(['json.info_0000000010', 'info_0000000009'])).toStrictEqual({
      name: 'info_0000000009',
      label: 'info',
      sequence: 9,
    });
    expect(selectLeader(['json.info_2147483647', 'json.info_-2147483648', 'json.info_-000000001'])?.sequence).toBe(
      -2147483648,
    );
  });

  it('ignores log_replicas and anything that is not a contender', () => {
    expect(
      selectLeader([
        'log_replicas',
        'garbage',
        'foo_0000000000',
        'json.info_',
        'json.info_12a',
        'json.info_99999999999',
        'json.info_0000000007',
      ])?.name,
    ).toBe('json.info_0000000007');
    expect(selectLeader(['log_replicas'])).toBeUndefined();
    expect(selectLeader([])).toBeUndefined();
  });

  it('rejects sequences outside int32', () => {
    expect(parseContender('json.info_2147483648')).toBeUndefined();
    expect(parseContender('json.info_-2147483649')).toBeUndefined();
  });
});
