import type { Socket } from 'node:net';
import {
  DEFAULT_MAX_FRAME_BYTES,
  encodeHeartbeatFrame,
  encodeJsonFrame,
  encodeMessageFrame,
  type Frame,
  FrameDecoder,
} from './frames.js';

/** Callbacks of a {@link FramedSocket}. */
export interface FramedSocketHandlers {
  /** A frame arrived (heartbeats included, after `lastReceived` was updated). */
  frame(frame: Frame): void;
  /** The connection ended; `reason` says why. Called once. */
  closed(reason: string): void;
}

/**
 * One side of the driver link: frames in and out of a socket, heartbeats, and the time the peer
 * was last heard from. Writes in the same tick are corked into one syscall, which is what
 * pipelining many small batches needs.
 */
export class FramedSocket {
  readonly socket: Socket;
  private readonly decoder = new FrameDecoder();
  private readonly handlers: FramedSocketHandlers;
  private corked = false;
  private ended = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** `performance.now()` when the last bytes arrived. */
  lastReceived = performance.now();
  /** Why the connection is being closed, when this side decided it. */
  closeReason: string | undefined;

  constructor(socket: Socket, handlers: FramedSocketHandlers) {
    this.socket = socket;
    this.handlers = handlers;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.closeReason ??= `socket error: ${error.message}`;
    });
    socket.on('close', () => this.onClose());
  }

  /** The peer's address as `host:port` (kept from the start: a closed socket forgets it). */
  readonly remote: string;

  /** Accepts frames up to the full size (after the peer is authenticated). */
  authenticated(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): void {
    this.decoder.maxFrameBytes = maxFrameBytes;
  }

  /** Sends a handshake (JSON) frame. */
  sendJson(value: unknown): void {
    this.write(encodeJsonFrame(value));
  }

  /** Sends a message (v8) frame. */
  send(value: unknown): void {
    const [header, payload] = encodeMessageFrame(value);
    this.write(header);
    this.write(payload);
  }

  /**
   * Sends a heartbeat every `intervalMs` and ends the connection when nothing arrived for
   * `timeoutMs`.
   */
  startHeartbeats(intervalMs: number, timeoutMs: number): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => {
      const silentMs = performance.now() - this.lastReceived;
      if (silentMs > timeoutMs) {
        this.close(`no heartbeat from ${this.remote} for ${Math.round(silentMs)} ms (timeout ${timeoutMs} ms)`);
        return;
      }
      this.write(encodeHeartbeatFrame());
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** Ends the connection (flushing what was written) and destroys it if it does not close soon. */
  close(reason: string): void {
    this.closeReason ??= reason;
    this.stopHeartbeats();
    if (this.socket.destroyed) return;
    this.uncork();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Destroys the connection at once. */
  destroy(reason: string): void {
    this.closeReason ??= reason;
    this.stopHeartbeats();
    this.socket.destroy();
  }

  private write(bytes: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => this.uncork());
    }
    this.socket.write(bytes);
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private onData(chunk: Buffer): void {
    this.lastReceived = performance.now();
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.destroy((error as Error).message);
      return;
    }
    for (const frame of frames) {
      if (this.socket.destroyed) return;
      this.handlers.frame(frame);
    }
  }

  private onClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopHeartbeats();
    this.handlers.closed(this.closeReason ?? `connection to ${this.remote} closed`);
  }
}
