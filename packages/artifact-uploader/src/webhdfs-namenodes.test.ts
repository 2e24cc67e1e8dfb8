import { describe, expect, it } from 'vitest';
import { askNamenodes } from './webhdfs-destination.js';

const standby = {
  status: 403,
  text: JSON.stringify({
    RemoteException: {
      exception: 'StandbyException',
      javaClassName: 'x',
      message: 'Operation category READ is not supported in state standby',
    },
  }),
};
const ok = { status: 200, text: '{}' };
const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('askNamenodes (the HA failover every WebHDFS client here shares)', () => {
  it('starts at the namenode that answered last and skips a standby or unreachable one', async () => {
    const asked: string[] = [];
    const answers: Record<string, () => Promise<typeof ok>> = {
      a: async () => standby,
      b: async () => {
        throw refused();
      },
      c: async () => ok,
    };
    const result = await askNamenodes(['a', 'b', 'c'], 1, (base) => {
      asked.push(base);
      return answers[base]!();
    });
    expect(asked).toEqual(['b', 'c']);
    expect(result).toEqual({ answer: ok, active: 2 });
  });

  it('returns the last standby answer without an index when every namenode is standby', async () => {
    expect(await askNamenodes(['a', 'b'], 0, async () => standby)).toEqual({ answer: standby });
  });

  it('throws the last network error when no namenode answers, and other errors at once', async () => {
    await expect(
      askNamenodes(['a', 'b'], 0, async () => {
        throw refused();
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const asked: string[] = [];
    await expect(
      askNamenodes(['a', 'b'], 0, async (base) => {
        asked.push(base);
        throw new TypeError('a bug, not the network');
      }),
    ).rejects.toThrow('a bug, not the network');
    expect(asked).toEqual(['a']);
  });
});
