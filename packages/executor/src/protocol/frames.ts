import { deserialize, serialize } from 'node:v8';
import { SparkMesosError } from '@spark-mesos/errors';

// One frame on the driver link: [u32 big-endian length of what follows][u8 kind][payload].
// Handshake frames are small JSON so nothing a peer sends is fed to v8.deserialize before it has
// proved it holds the secret; after that, messages are v8.serialize bytes (Uint8Arrays stay
// binary, no base64), and a heartbeat is a bare kind byte.

/** The kinds of frame. */
export const FRAME_KIND = { json: 1, v8: 2, heartbeat: 3 } as const;

/** A decoded frame. */
export type Frame = { kind: 'json'; value: unknown } | { kind: 'v8'; value: unknown } | { kind: 'heartbeat' };

/** The largest frame accepted before the peer is authenticated: handshake messages are tiny. */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;

/** @default 512 MiB — large fine-grained results travel over the link. */
export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024 * 1024;

const heartbeatFrame = Buffer.from([0, 0, 0, 1, FRAME_KIND.heartbeat]);

/** Encodes a JSON handshake frame. */
export function encodeJsonFrame(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame.writeUInt32BE(payload.length + 1, 0);
  frame[4] = FRAME_KIND.json;
  payload.copy(frame, 5);
  return frame;
}

/** Encodes a message frame (v8.serialize), returned as header and payload to avoid a copy. */
export function encodeMessageFrame(value: unknown): [Buffer, Buffer] {
  const payload = serialize(value);
  const header = Buffer.allocUnsafe(5);
  header.writeUInt32BE(payload.length + 1, 0);
  header[4] = FRAME_KIND.v8;
  return [header, payload];
}

/** The heartbeat frame (5 bytes). */
export function encodeHeartbeatFrame(): Buffer {
  return heartbeatFrame;
}

/**
 * Splits a byte stream into frames. `maxFrameBytes` can be raised after the handshake; a frame
 * announced larger than it throws `SM_ERR_DRIVER_LINK_PROTOCOL` before any of it is buffered.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The largest frame accepted now. */
  maxFrameBytes: number;

  constructor(maxFrameBytes: number = HANDSHAKE_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Adds bytes and returns the frames now complete. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    while (this.buffered >= 4) {
      const head = this.peekLength();
      if (head === 0 || head > this.maxFrameBytes) {
        throw new SparkMesosError(
          'SM_ERR_DRIVER_LINK_PROTOCOL',
          `driver link frame of ${head} bytes refused (limit ${this.maxFrameBytes}); the peer is not a spark-mesos executor or driver of this version`,
          { cause: { frameBytes: head, maxFrameBytes: this.maxFrameBytes } },
        );
      }
      if (this.buffered < 4 + head) break;
      const frame = this.take(4 + head);
      frames.push(decodeFrame(frame.subarray(4)));
    }
    return frames;
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged.readUInt32BE(0);
  }

  private take(length: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= length) {
      out = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      out = Buffer.allocUnsafe(length);
      let offset = 0;
      while (offset < length) {
        const chunk = this.chunks[0] as Buffer;
        const needed = length - offset;
        if (chunk.length <= needed) {
          chunk.copy(out, offset);
          offset += chunk.length;
          this.chunks.shift();
        } else {
          chunk.copy(out, offset, 0, needed);
          this.chunks[0] = chunk.subarray(needed);
          offset += needed;
        }
      }
    }
    this.buffered -= length;
    return out;
  }
}

function decodeFrame(body: Buffer): Frame {
  const kind = body[0];
  const payload = body.subarray(1);
  try {
    if (kind === FRAME_KIND.heartbeat) return { kind: 'heartbeat' };
    if (kind === FRAME_KIND.json) return { kind: 'json', value: JSON.parse(payload.toString('utf8')) };
    if (kind === FRAME_KIND.v8) return { kind: 'v8', value: deserialize(payload) };
  } catch (error) {
    throw new SparkMesosError('SM_ERR_DRIVER_LINK_PROTOCOL', `driver link frame of kind ${kind} does not decode`, {
      cause: error,
    });
  }
  throw new SparkMesosError(
    'SM_ERR_DRIVER_LINK_PROTOCOL',
    `driver link frame of unknown kind ${String(kind)}; the peer is not a spark-mesos executor or driver of this version`,
    { cause: { kind } },
  );
}
