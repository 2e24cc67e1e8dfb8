import type { SchedulerEvent } from './generated/mesos-types.js';

/**
 * Hands events to the application's consumers (async iterators, listeners) and tells when every
 * consumer has handled one, so that a status update is acknowledged only after it was handled.
 *
 * @module
 */

/**
 * One event on its way to the consumers. It counts the consumers that have not handled it yet;
 * when the count reaches zero and none failed, `onHandled` runs (the acknowledgement).
 */
export class EventDelivery {
  readonly event: SchedulerEvent;
  #pending = 1; // the dispatcher's own hold, released by release()
  #failed = false;
  readonly #onHandled: (() => void) | undefined;

  constructor(event: SchedulerEvent, onHandled?: () => void) {
    this.event = event;
    this.#onHandled = onHandled;
  }

  /** One more consumer received it. */
  hold(): void {
    this.#pending += 1;
  }

  /** One consumer is done with it: `handled` false (a listener threw, an iterator was closed before reaching it) vetoes `onHandled`. */
  settle(handled: boolean): void {
    if (!handled) this.#failed = true;
    this.#pending -= 1;
    if (this.#pending === 0 && !this.#failed) this.#onHandled?.();
  }
}

/**
 * The buffer of one `events()` iterator: at most `capacity` events wait in it. The dispatcher
 * waits for room ({@link EventBuffer.waitForRoom}) before reading further from the socket, so a
 * slow consumer slows the stream down (TCP back-pressure) instead of growing memory.
 */
export class EventBuffer implements AsyncIterableIterator<SchedulerEvent> {
  readonly #capacity: number;
  readonly #queue: EventDelivery[] = [];
  readonly #onClose: (buffer: EventBuffer) => void;
  #current: EventDelivery | undefined;
  #waiter: { resolve: (result: IteratorResult<SchedulerEvent>) => void; reject: (error: unknown) => void } | undefined;
  #roomWaiters: Array<() => void> = [];
  #ended = false;
  #error: unknown;
  #closed = false;

  constructor(capacity: number, onClose: (buffer: EventBuffer) => void) {
    this.#capacity = capacity;
    this.#onClose = onClose;
  }

  /** Events waiting to be pulled. */
  get size(): number {
    return this.#queue.length;
  }

  /** Whether the consumer stopped (return/throw) or the buffer was ended and drained. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether another event fits without waiting. */
  get hasRoom(): boolean {
    return this.#closed || this.#queue.length < this.#capacity;
  }

  /** Resolves once another event fits (or the consumer is gone). */
  waitForRoom(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Adds an event (the caller waited for room). */
  push(delivery: EventDelivery): void {
    if (this.#closed || this.#ended) return;
    delivery.hold();
    if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      this.#current = delivery;
      waiter.resolve({ value: delivery.event, done: false });
      return;
    }
    this.#queue.push(delivery);
  }

  /**
   * No more events: the consumer gets what is buffered, then `done` (or `error` thrown once).
   * With `discard`, buffered events are dropped at once (the client was closed).
   */
  end(error?: unknown, discard = false): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (discard) for (const delivery of this.#queue.splice(0)) delivery.settle(false);
    if (this.#waiter !== undefined && this.#queue.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      this.#finish(waiter);
    }
  }

  #finish(waiter: {
    resolve: (result: IteratorResult<SchedulerEvent>) => void;
    reject: (error: unknown) => void;
  }): void {
    const error = this.#error;
    this.#error = undefined;
    this.#close();
    if (error === undefined) waiter.resolve({ value: undefined, done: true });
    else waiter.reject(error);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#current?.settle(true);
    this.#current = undefined;
    // Events the consumer never saw are not acknowledged: Mesos re-sends unacknowledged updates.
    for (const delivery of this.#queue.splice(0)) delivery.settle(false);
    for (const resolve of this.#roomWaiters.splice(0)) resolve();
    this.#onClose(this);
  }

  next(): Promise<IteratorResult<SchedulerEvent>> {
    // Asking for the next event means the previous one was handled.
    this.#current?.settle(true);
    this.#current = undefined;
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    const delivery = this.#queue.shift();
    if (delivery !== undefined) {
      this.#current = delivery;
      if (this.#queue.length < this.#capacity) for (const resolve of this.#roomWaiters.splice(0)) resolve();
      return Promise.resolve({ value: delivery.event, done: false });
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#ended) this.#finish(waiter);
      else this.#waiter = waiter;
    });
  }

  return(): Promise<IteratorResult<SchedulerEvent>> {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#close();
    waiter?.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<SchedulerEvent>> {
    void error;
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
