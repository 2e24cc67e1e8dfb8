// SUPPRESS at the wire level: no offers while suppressed (even for resources handed back
// without a filter); REVIVE resumes them.
// Runs against mesos-local or, unchanged, a real master (see ./scenario-support.ts).
// @see https://mesos.apache.org/documentation/latest/scheduler-http-api/ (SUPPRESS, REVIVE)
import { filters, type MesosEncoding, type Offer } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import {
  expectNoEvent,
  OFFER_WAIT_MS,
  offersOf,
  sleep,
  someOffers,
  targetName,
  useConformanceMaster,
  waitForEvent,
} from './scenario-support.js';

const master = useConformanceMaster();

/** How long "no offer" is watched: well past mesos-local's 50 ms and Mesos' default 1 s allocation interval. */
const QUIET_WINDOW_MS = 2_000;
/** Offers the allocator made before it saw a SUPPRESS may still be on their way. */
const SUPPRESS_SETTLE_MS = 500;
const TEST_TIMEOUT_MS = 2 * OFFER_WAIT_MS + QUIET_WINDOW_MS + 10_000;

describe(`SUPPRESS against ${targetName}`, () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'SUPPRESS stops the offers, REVIVE brings them back (%s)',
    async (encoding) => {
      const client = master.schedulerClient(encoding, {
        name: 'suppress and revive',
        client: { reconcile: { enabled: false } },
      });
      const held: Offer[] = [];
      const stopHolding = client.on('OFFERS', (event) => {
        held.push(...offersOf(event));
      });
      const first = waitForEvent(client, 'OFFERS', OFFER_WAIT_MS, someOffers);
      await client.start();
      await first;

      await client.suppress();
      await sleep(SUPPRESS_SETTLE_MS);
      stopHolding();
      // Hand every offer back without a filter: only the suppression may keep them from us now.
      const quiet = expectNoEvent(
        client,
        'OFFERS while suppressed',
        QUIET_WINDOW_MS,
        (event) => event.type === 'OFFERS',
      );
      await client.decline({ offer_ids: held.map((offer) => offer.id), filters: filters({ refuseSeconds: 0 }) });
      await quiet;

      const back = waitForEvent(client, 'OFFERS after REVIVE', OFFER_WAIT_MS, someOffers);
      await client.revive();
      const offers = await back;
      expect(offers.every((offer) => offer.framework_id.value === client.frameworkId)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
