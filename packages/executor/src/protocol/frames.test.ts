import { describe, expect, it } from 'vitest';
import { encodeHeartbeatFrame, encodeJsonFrame, encodeMessageFrame, FrameDecoder } from './frames.js';

describe('FrameDecoder', () => {
  it('reassembles frames split anywhere and several frames in one chunk', () => {
    const message = { type: 'launch', tasks: [{ taskId: 't1', input: new Uint8Array([1, 2, 3]) }] };
    const bytes = Buffer.concat([
      encodeJsonFrame({ type: 'challenge' }),
      ...encodeMessageFrame(message),
      encodeHeartbeatFrame(),
    ]);
    for (let split = 1; split < bytes.length; split += 1) {
      const decoder = new FrameDecoder(1 << 20);
      const frames = [...decoder.push(bytes.subarray(0, split)), ...decoder.push(bytes.subarray(split))];
      expect(frames).toEqual([
        { kind: 'json', value: { type: 'challenge' } },
        { kind: 'v8', value: message },
        { kind: 'heartbeat' },
      ]);
    }
    const oneByOne = new FrameDecoder(1 << 20);
    const frames = [...bytes].flatMap((byte) => oneByOne.push(Buffer.from([byte])));
    expect(frames).toHaveLength(3);
  });

  it('refuses a frame announced larger than the limit before buffering it', () => {
    const decoder = new FrameDecoder(4096);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1 << 30, 0);
    expect(() => decoder.push(header)).toThrow(/frame of 1073741824 bytes refused \(limit 4096\)/);
  });

  it('refuses unknown kinds and undecodable payloads', () => {
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 1, 9]))).toThrow(/unknown kind 9/);
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 2, 1, 0x7b]))).toThrow(/does not decode/);
  });
});
