// Offer filters at the wire level: DECLINE with `refuse_seconds` keeps the declined agent's
// resources from the framework; REVIVE removes the filter.
// Runs against mesos-local or, unchanged, a real master (see ./scenario-support.ts).
// @see https://mesos.apache.org/documentation/latest/scheduler-http-api/ (DECLINE, REVIVE)
import { filters, type MesosEncoding, type Offer } from '@spark-mesos/mesos-client';
import { describe, expect, it } from 'vitest';
import {
  expectNoEvent,
  OFFER_WAIT_MS,
  offersOf,
  someOffers,
  targetName,
  useConformanceMaster,
  waitForEvent,
} from './scenario-support.js';

const master = useConformanceMaster();

/** How long "no offer" is watched: well past mesos-local's 50 ms and Mesos' default 1 s allocation interval. */
const QUIET_WINDOW_MS = 2_000;
const TEST_TIMEOUT_MS = 2 * OFFER_WAIT_MS + QUIET_WINDOW_MS + 10_000;

describe(`DECLINE filters against ${targetName}`, () => {
  it.each<MesosEncoding>(['protobuf', 'json'])(
    'DECLINE with refuse_seconds keeps the agent out of the offers until REVIVE (%s)',
    async (encoding) => {
      const client = master.schedulerClient(encoding, {
        name: 'decline with filters',
        client: { reconcile: { enabled: false } },
      });
      const first = waitForEvent(client, 'OFFERS', OFFER_WAIT_MS, someOffers);
      await client.start();
      const [declined] = (await first) as [Offer, ...Offer[]];
      const agentId = declined.agent_id.value;

      // Other agents' offers are simply held: with a multi-agent cluster they may be re-offered,
      // so only the declined agent is watched.
      await client.decline({ offer_ids: [declined.id], filters: filters({ refuseSeconds: 30 }) });
      await expectNoEvent(
        client,
        `offer for agent ${agentId} after DECLINE (refuse_seconds 30)`,
        QUIET_WINDOW_MS,
        (event) => offersOf(event).some((offer) => offer.agent_id.value === agentId),
      );

      const back = waitForEvent(client, `offer for agent ${agentId} after REVIVE`, OFFER_WAIT_MS, (event) =>
        offersOf(event).find((offer) => offer.agent_id.value === agentId),
      );
      await client.revive();
      const revived = await back;
      expect(revived.id.value).not.toBe(declined.id.value);
      expect(revived.framework_id.value).toBe(client.frameworkId);
    },
    TEST_TIMEOUT_MS,
  );
});
