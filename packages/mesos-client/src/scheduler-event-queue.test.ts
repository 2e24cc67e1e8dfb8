import { describe, expect, it } from 'vitest';
import type { SchedulerEvent } from './generated/mesos-types.js';
import { EventBuffer, EventDelivery } from './scheduler-event-queue.js';

const heartbeat: SchedulerEvent = { type: 'HEARTBEAT' };

describe('EventBuffer and EventDelivery', () => {
  it('counts an event handled once the consumer asks for the next one', async () => {
    const buffer = new EventBuffer(2, () => {});
    let handled = 0;
    const delivery = new EventDelivery(heartbeat, () => (handled += 1));
    buffer.push(delivery);
    delivery.settle(true); // the dispatcher's own hold
    expect(handled).toBe(0);
    expect((await buffer.next()).value).toBe(heartbeat);
    expect(handled).toBe(0);
    const pending = buffer.next();
    expect(handled).toBe(1);
    buffer.end();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('bounds the buffer and signals room', async () => {
    const buffer = new EventBuffer(1, () => {});
    buffer.push(new EventDelivery(heartbeat));
    expect(buffer.hasRoom).toBe(false);
    let room = false;
    const waiting = buffer.waitForRoom().then(() => (room = true));
    await buffer.next();
    await waiting;
    expect(room).toBe(true);
  });

  it('does not count events dropped by a closed iterator as handled', async () => {
    let closed = 0;
    const buffer = new EventBuffer(4, () => (closed += 1));
    let handled = 0;
    const delivery = new EventDelivery(heartbeat, () => (handled += 1));
    buffer.push(delivery);
    delivery.settle(true);
    await buffer.return();
    expect(handled).toBe(0);
    expect(closed).toBe(1);
  });

  it('delivers buffered events, then throws the ending error once', async () => {
    const buffer = new EventBuffer(4, () => {});
    buffer.push(new EventDelivery(heartbeat));
    const failure = new Error('ended');
    buffer.end(failure);
    expect((await buffer.next()).value).toBe(heartbeat);
    await expect(buffer.next()).rejects.toBe(failure);
    expect(await buffer.next()).toEqual({ value: undefined, done: true });
  });
});
