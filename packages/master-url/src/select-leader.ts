/** Labels Mesos masters register with: `json.info` since 0.24, `info` (protobuf) before. */
export type ContenderLabel = 'json.info' | 'info';

/** A child of the masters' znode that takes part in the election. */
export interface Contender {
  /** The child's name, e.g. `json.info_0000000003`. */
  readonly name: string;
  /** Its label, the part before `_`. */
  readonly label: ContenderLabel;
  /** Its ZooKeeper sequence number (a signed 32-bit integer; negative after overflow). */
  readonly sequence: number;
}

// ZooKeeper formats sequences with "%010d", so after int32 overflow they look like "-000000001".
const contenderName = /^(json\.info|info)_(-?[0-9]{1,10})$/;

/**
 * Reads a child name as an election contender, or returns undefined for anything else
 * (`log_replicas` of the replicated log, unknown labels, names without a numeric sequence).
 */
export function parseContender(name: string): Contender | undefined {
  const match = contenderName.exec(name);
  if (match === null) return undefined;
  const sequence = Number(match[2]);
  if (sequence < -2_147_483_648 || sequence > 2_147_483_647) return undefined;
  return { name, label: match[1] as ContenderLabel, sequence };
}

/**
 * Picks the leading master among the children of the masters' znode: the contender with the
 * lowest NUMERIC sequence across both labels, as the Mesos group/detector does (Mesos parses
 * the sequence as an int32, so compare numbers, not strings). Undefined when nobody contends.
 *
 * @see https://mesos.apache.org/documentation/latest/high-availability/
 */
export function selectLeader(children: readonly string[]): Contender | undefined {
  let leader: Contender | undefined;
  for (const child of children) {
    const contender = parseContender(child);
    if (contender === undefined) continue;
    if (
      leader === undefined ||
      contender.sequence < leader.sequence ||
      (contender.sequence === leader.sequence && contender.name < leader.name)
    ) {
      leader = contender;
    }
  }
  return leader;
}
