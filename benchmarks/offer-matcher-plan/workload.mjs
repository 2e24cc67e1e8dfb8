// The generated round both bench.mjs and ab.mjs plan: offers of 16 cpus and 64 GiB with ports
// (half of them reserved for role `spark`), and individual fine-grained task descriptions (1 or 2
// cpus; 30 % prefer one or two hosts). Deterministic, so every run plans the same round.

function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** `count` offers, one per agent. */
export function makeOffers(count) {
  const offers = [];
  for (let i = 0; i < count; i++) {
    const reserved = i % 2 === 0;
    const role = reserved ? { role: 'spark', reservations: [{ type: 'STATIC', role: 'spark' }] } : {};
    offers.push({
      id: { value: `o${i}` },
      framework_id: { value: 'f1' },
      agent_id: { value: `s${i}` },
      hostname: `host${i}`,
      resources: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 16 }, ...role },
        { name: 'mem', type: 'SCALAR', scalar: { value: 65_536 }, ...role },
        { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31_000, end: 32_000 }] } },
      ],
      attributes: [{ name: 'zone', type: 'TEXT', text: { value: `zone-${i % 3}` } }],
    });
  }
  return offers;
}

/** `count` task descriptions, each its own object with its own needs and host preferences. */
export function makeTasks(count, offerCount) {
  const next = random(count * 31 + offerCount);
  const tasks = [];
  for (let i = 0; i < count; i++) {
    const task = { id: `t${i}`, cpus: next() < 0.8 ? 1 : 2 };
    if (next() < 0.3) {
      const host = Math.floor(next() * offerCount);
      task.preferredHosts = next() < 0.5 ? [`host${host}`] : [`host${host}`, `host${(host + 1) % offerCount}`];
    }
    tasks.push(task);
  }
  return tasks;
}

/** The planOffers input of one round. */
export function makeRound(offerCount, taskCount, mode) {
  const offers = makeOffers(offerCount);
  const demand =
    mode === 'fine' ? { mode, tasks: makeTasks(taskCount, offerCount) } : { mode, executorLimit: taskCount };
  const settings = { executorCores: mode === 'coarse' ? 4 : undefined, localityWaitSeconds: 0 };
  return { offers, demand, settings, now: 0 };
}
