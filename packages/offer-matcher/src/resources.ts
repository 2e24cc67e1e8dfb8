import type { Resource, ValueRange } from '@spark-mesos/mesos-client';

/**
 * Mesos keeps scalar resource values to three decimal places (`Value::Scalar` arithmetic in
 * `src/common/values.cpp` rounds to 0.001), so every amount here is computed in thousandths.
 * @see https://github.com/apache/mesos/blob/master/src/common/values.cpp
 */
export const SCALAR_DECIMALS = 3;

const MILLI = 1000;

/** Rounds a scalar the way Mesos does: to {@link SCALAR_DECIMALS} decimal places. */
export function roundScalar(value: number): number {
  return Math.round(value * MILLI) / MILLI;
}

// Integer thousandths: sums and differences stay exact, so taken + remaining = offered holds.
function toMilli(value: number): number {
  return Math.round(value * MILLI);
}

/**
 * Sorts and merges ranges, joining overlapping and adjacent ones (`[1-3]` and `[4-5]` become
 * `[1-5]`), as Mesos normalises `Value::Ranges`. Ranges with `begin > end` are dropped.
 */
export function mergeRanges(ranges: readonly ValueRange[]): ValueRange[] {
  const sorted = ranges.filter((range) => range.begin <= range.end).sort((a, b) => a.begin - b.begin);
  const merged: ValueRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && range.begin <= last.end + 1) {
      if (range.end > last.end) last.end = range.end;
    } else {
      merged.push({ begin: range.begin, end: range.end });
    }
  }
  return merged;
}

/** `ranges` without the values in `removed` (both may be unnormalised); the result is merged. */
export function subtractRanges(ranges: readonly ValueRange[], removed: readonly ValueRange[]): ValueRange[] {
  const holes = mergeRanges(removed);
  const result: ValueRange[] = [];
  for (const range of mergeRanges(ranges)) {
    let begin = range.begin;
    for (const hole of holes) {
      if (hole.end < begin || hole.begin > range.end) continue;
      if (hole.begin > begin) result.push({ begin, end: hole.begin - 1 });
      begin = hole.end + 1;
      if (begin > range.end) break;
    }
    if (begin <= range.end) result.push({ begin, end: range.end });
  }
  return result;
}

/** How many values the ranges hold (overlaps counted once). */
export function countRanges(ranges: readonly ValueRange[]): number {
  let count = 0;
  for (const range of mergeRanges(ranges)) count += range.end - range.begin + 1;
  return count;
}

/** Whether `value` lies inside one of `ranges`. */
export function rangesContain(ranges: readonly ValueRange[], value: number): boolean {
  return ranges.some((range) => range.begin <= value && value <= range.end);
}

/**
 * The role a resource is allocated to or reserved for: the role of the last entry of the
 * reservation stack (`reservations`, Mesos 1.4+ "refined reservations"), else the deprecated
 * `role` field, else `*` (unreserved).
 */
export function reservationRole(resource: Resource): string {
  const stack = resource.reservations;
  if (stack !== undefined && stack.length > 0) return stack[stack.length - 1]?.role ?? '*';
  return resource.role ?? '*';
}

/** Whether the resource is reserved (statically or dynamically) rather than unreserved `*`. */
export function isReserved(resource: Resource): boolean {
  return reservationRole(resource) !== '*';
}

/**
 * A key naming the pool a resource piece belongs to: everything but its value (name, type,
 * role, allocation role, reservation stack, revocable, disk, shared, provider). Two pieces with
 * the same key could be merged by Mesos; pieces with different keys must be accepted separately.
 */
export function resourcePoolKey(resource: Resource): string {
  return JSON.stringify([
    resource.name,
    resource.type,
    resource.role ?? '*',
    resource.allocation_info?.role ?? null,
    resource.reservation ?? null,
    resource.reservations ?? null,
    resource.revocable !== undefined,
    resource.disk ?? null,
    resource.shared !== undefined,
    resource.provider_id?.value ?? null,
  ]);
}

/** Which offered resources a framework may use. */
export interface ResourceFilterOptions {
  /**
   * Use revocable resources (those with `revocable` set). Mesos only offers them to frameworks
   * with the `REVOCABLE_RESOURCES` capability; a framework must still opt in to run on them.
   * @default false
   */
  acceptRevocable?: boolean;
  /**
   * The roles whose resources may be used (matched against `allocation_info.role` for
   * MULTI_ROLE frameworks, and against the reservation role); `*` means unreserved resources.
   * When absent, every role offered to the framework is usable, as Spark does.
   * @default undefined (all roles)
   */
  roles?: readonly string[];
}

function anyRevocable(resources: readonly Resource[]): boolean {
  for (let index = 0; index < resources.length; index++) if (resources[index]!.revocable !== undefined) return true;
  return false;
}

/** The offered resources the framework may use under `options`. */
export function usableResources(resources: readonly Resource[], options: ResourceFilterOptions = {}): Resource[] {
  // The usual offer has nothing to filter out: no copy then (callers never mutate the list).
  if (options.roles === undefined && (options.acceptRevocable === true || !anyRevocable(resources))) {
    return resources as Resource[];
  }
  const roles = options.roles === undefined ? undefined : new Set(options.roles);
  return resources.filter((resource) => {
    if (resource.revocable !== undefined && options.acceptRevocable !== true) return false;
    if (roles === undefined) return true;
    const allocationRole = resource.allocation_info?.role;
    if (allocationRole !== undefined && !roles.has(allocationRole)) return false;
    const reservedFor = reservationRole(resource);
    return reservedFor === '*' || roles.has(reservedFor);
  });
}

/** The sum of the scalar resource `name`, rounded to Mesos' precision. */
export function sumScalar(resources: readonly Resource[], name: string): number {
  let total = 0;
  for (const resource of resources) {
    if (resource.name === name && resource.type === 'SCALAR') total += toMilli(resource.scalar?.value ?? 0);
  }
  return total / MILLI;
}

/** All ranges of the range resource `name`, merged. */
export function rangesOf(resources: readonly Resource[], name: string): ValueRange[] {
  const all: ValueRange[] = [];
  for (const resource of resources) {
    if (resource.name === name && resource.type === 'RANGES') all.push(...(resource.ranges?.range ?? []));
  }
  return mergeRanges(all);
}

/** A request for values of a range resource (usually `ports`). */
export interface RangeRequest {
  /** Values that must be taken exactly, e.g. `spark.blockManager.port`. @default [] */
  named?: readonly number[];
  /** How many further values to take, lowest first. @default 0 */
  count?: number;
}

/** What to take from an offer. */
export interface ResourceRequest {
  /** Scalar amounts by resource name, e.g. `{ cpus: 2, mem: 1408 }`. Zero or absent: none. */
  scalars?: Readonly<Record<string, number>>;
  /** Range values by resource name, e.g. `{ ports: { named: [30100] } }`. */
  ranges?: Readonly<Record<string, RangeRequest>>;
}

/** The result of {@link takeResources}. */
export interface TakeResult {
  /** The pieces taken, each keeping its role, allocation_info and reservations. */
  taken: Resource[];
  /** What is left of the offered resources (empty pieces dropped). */
  remaining: Resource[];
}

// Reserved pieces first (they are ours alone and otherwise go unused), then unreserved; and
// non-revocable before revocable, since revocable resources may be taken back.
function preference(resource: Resource): number {
  return (isReserved(resource) ? 0 : 1) + (resource.revocable !== undefined ? 2 : 0);
}

// Shared identity orders by length (read-only), so an offer whose pieces all rank the same
// allocates no order of its own.
const IDENTITY_ORDERS: (readonly number[])[] = [];

/**
 * Indices of `resources` in the order pieces are cut: reserved before unreserved, non-revocable
 * before revocable, else as offered. Read-only: the identity order is shared. Internal to the
 * package (fine-grained planning cuts with it); not exported from its entry.
 */
export function preferenceOrder(resources: readonly Resource[]): readonly number[] {
  const count = resources.length;
  let uniform = true;
  const firstRank = count > 0 ? preference(resources[0]!) : 0;
  for (let index = 1; index < count && uniform; index++) uniform = preference(resources[index]!) === firstRank;
  if (uniform && count <= 64) {
    let identity = IDENTITY_ORDERS[count];
    if (identity === undefined) {
      identity = Object.freeze(Array.from({ length: count }, (_, index) => index));
      IDENTITY_ORDERS[count] = identity;
    }
    return identity;
  }
  // Ranks are 0–3: collect indices rank by rank (stable, and no sort's work arrays per offer).
  const order: number[] = [];
  for (let rank = 0; rank < 4; rank++) {
    for (let index = 0; index < count; index++) if (preference(resources[index]!) === rank) order.push(index);
  }
  return order;
}

/**
 * {@link preferenceOrder} written into `into` from `at` on, without allocating: fine-grained
 * planning keeps the order of every offer in one typed array. Internal to the package.
 */
export function preferenceOrderInto(resources: readonly Resource[], into: Int32Array, at: number): void {
  const count = resources.length;
  // Ranks are 0–3, as bits: one pass finds which occur; a single rank needs no further pass.
  let ranks = 0;
  for (let index = 0; index < count; index++) ranks |= 1 << preference(resources[index]!);
  if ((ranks & (ranks - 1)) === 0) {
    for (let index = 0; index < count; index++) into[at + index] = index;
    return;
  }
  let slot = at;
  for (let rank = 0; rank < 4; rank++) {
    if ((ranks & (1 << rank)) === 0) continue;
    for (let index = 0; index < count; index++) if (preference(resources[index]!) === rank) into[slot++] = index;
  }
}

/**
 * Takes the requested amounts from `offered`. Each taken piece is a copy of the offered piece
 * (same name, role, allocation_info, reservation stack, revocable, disk) with the taken value,
 * so the ACCEPT built from it is valid. Scalars are taken in thousandths (Mesos' precision);
 * reserved pieces are used before unreserved ones.
 *
 * Returns `undefined` when the request does not fit. Resource pieces are not filtered here:
 * pass the output of {@link usableResources}.
 */
export function takeResources(offered: readonly Resource[], request: ResourceRequest): TakeResult | undefined {
  const remaining: Resource[] = offered.slice();
  const taken: Resource[] = [];
  const order = preferenceOrder(remaining);

  for (const [name, amount] of Object.entries(request.scalars ?? {})) {
    let need = toMilli(amount);
    if (need < 0) return undefined;
    for (const index of order) {
      if (need === 0) break;
      const piece = remaining[index]!;
      if (piece.name !== name || piece.type !== 'SCALAR') continue;
      const have = toMilli(piece.scalar?.value ?? 0);
      if (have <= 0) continue;
      const use = Math.min(have, need);
      need -= use;
      taken.push({ ...piece, scalar: { value: use / MILLI } });
      remaining[index] = { ...piece, scalar: { value: (have - use) / MILLI } };
    }
    if (need > 0) return undefined;
  }

  for (const [name, wanted] of Object.entries(request.ranges ?? {})) {
    const named = [...new Set(wanted.named ?? [])];
    for (const value of named) {
      const index = order.find((i) => {
        const piece = remaining[i]!;
        return piece.name === name && piece.type === 'RANGES' && rangesContain(piece.ranges?.range ?? [], value);
      });
      if (index === undefined) return undefined;
      takeRangeValues(remaining, taken, index, [{ begin: value, end: value }]);
    }
    let count = wanted.count ?? 0;
    for (const index of order) {
      if (count <= 0) break;
      const piece = remaining[index]!;
      if (piece.name !== name || piece.type !== 'RANGES') continue;
      const chosen: ValueRange[] = [];
      for (const range of mergeRanges(piece.ranges?.range ?? [])) {
        if (count <= 0) break;
        const size = Math.min(count, range.end - range.begin + 1);
        chosen.push({ begin: range.begin, end: range.begin + size - 1 });
        count -= size;
      }
      if (chosen.length > 0) takeRangeValues(remaining, taken, index, chosen);
    }
    if (count > 0) return undefined;
  }

  return { taken: mergeTaken(taken), remaining: remaining.filter((piece) => !isEmpty(piece)) };
}

/**
 * Cuts many scalar requests from one offer quickly (fine-grained planning places thousands of
 * tasks per round): the same rules as {@link takeResources} — reserved pieces first, thousandths,
 * pieces copied with their role and reservations — without copying the remaining resources per
 * request.
 */
export interface ScalarCutter {
  /** Takes the amounts, or returns `undefined` (taking nothing) when they do not fit. */
  take(scalars: Readonly<Record<string, number>>): Resource[] | undefined;
  /**
   * `take({ [name]: amount })` without building the record. Equal cuts from the same piece
   * return the same list: treat the result as read-only.
   */
  takeScalar(name: string, amount: number): Resource[] | undefined;
  /** What is left (empty scalar pieces dropped; non-scalar pieces untouched). */
  remaining(): Resource[];
}

/** A {@link ScalarCutter} over `offered`. */
export function createScalarCutter(offered: readonly Resource[]): ScalarCutter {
  return new OfferCutter(offered);
}

// A class rather than closures: one object per offer, and methods V8 can inline at call sites
// that see many cutters (a round creates one per agent that gets something).
class OfferCutter implements ScalarCutter {
  private readonly offered: readonly Resource[];
  private readonly order: readonly number[];
  // Thousandths left of each scalar piece (0 for other pieces). A plain array: a small typed
  // array costs several objects per offer.
  private readonly left: number[];
  // Shared cuts, as key, list, key, list…: a few distinct cuts per offer at most (1 cpu,
  // 2 cpus), so one array beats a Map per offer.
  private readonly cache: (number | Resource[])[] = [];
  // The scalar last cut by takeScalar, and its first piece with something left.
  private lastName: string | undefined = undefined;
  private lastFirst = -1;

  constructor(offered: readonly Resource[]) {
    this.offered = offered;
    this.order = preferenceOrder(offered);
    const left: number[] = [];
    for (let index = 0; index < offered.length; index++) {
      const piece = offered[index]!;
      left.push(piece.type === 'SCALAR' ? toMilli(piece.scalar?.value ?? 0) : 0);
    }
    this.left = left;
  }

  take(scalars: Readonly<Record<string, number>>): Resource[] | undefined {
    const offered = this.offered;
    const order = this.order;
    const left = this.left;
    const names = Object.keys(scalars);
    for (const name of names) {
      let need = toMilli(scalars[name]!);
      for (const index of order) {
        if (need <= 0) break;
        const piece = offered[index]!;
        if (piece.name === name && piece.type === 'SCALAR') need -= left[index]!;
      }
      if (need > 0) return undefined;
    }
    const taken: Resource[] = [];
    for (const name of names) {
      let need = toMilli(scalars[name]!);
      for (const index of order) {
        if (need <= 0) break;
        const piece = offered[index]!;
        const have = left[index]!;
        if (piece.name !== name || piece.type !== 'SCALAR' || have <= 0) continue;
        const use = Math.min(have, need);
        need -= use;
        left[index] = have - use;
        taken.push({ ...piece, scalar: { value: use / MILLI } });
      }
    }
    return taken;
  }

  takeScalar(name: string, amount: number): Resource[] | undefined {
    const offered = this.offered;
    const order = this.order;
    const left = this.left;
    let need = toMilli(amount);
    let first = -1;
    // The first piece with something left stays the first until it is used up (amounts only
    // shrink), so the last one found is tried before the pieces are looked at again.
    if (name === this.lastName && left[this.lastFirst]! > 0) {
      first = this.lastFirst;
    } else {
      for (let at = 0; at < order.length; at++) {
        const index = order[at]!;
        const piece = offered[index]!;
        if (piece.name === name && piece.type === 'SCALAR' && left[index]! > 0) {
          first = index;
          this.lastName = name;
          this.lastFirst = index;
          break;
        }
      }
    }
    // Only when the first piece cannot hold the cut are the others summed.
    if (first === -1 || left[first]! < need) {
      let have = 0;
      for (const index of order) {
        const piece = offered[index]!;
        if (piece.name === name && piece.type === 'SCALAR' && left[index]! > 0) have += left[index]!;
      }
      if (have < need) return undefined;
    }
    if (need > 0 && left[first]! >= need) {
      // The common case (a task's cpus from one piece): equal cuts share one list, which
      // keeps a round with 100,000 tasks from allocating 100,000 copies.
      left[first] = left[first]! - need;
      const key = first * 1e9 + need;
      const cache = this.cache;
      for (let at = 0; at < cache.length; at += 2) {
        if (cache[at] === key) return cache[at + 1] as Resource[];
      }
      const shared = [{ ...offered[first]!, scalar: { value: need / MILLI } }];
      cache.push(key, shared);
      return shared;
    }
    const taken: Resource[] = [];
    for (const index of order) {
      if (need <= 0) break;
      const piece = offered[index]!;
      const available = left[index]!;
      if (piece.name !== name || piece.type !== 'SCALAR' || available <= 0) continue;
      const use = Math.min(available, need);
      need -= use;
      left[index] = available - use;
      taken.push({ ...piece, scalar: { value: use / MILLI } });
    }
    return taken;
  }

  remaining(): Resource[] {
    const left = this.left;
    const result: Resource[] = [];
    this.offered.forEach((piece, index) => {
      if (piece.type !== 'SCALAR') result.push(piece);
      else if (left[index]! > 0) result.push({ ...piece, scalar: { value: left[index]! / MILLI } });
    });
    return result;
  }
}

function takeRangeValues(remaining: Resource[], taken: Resource[], index: number, values: ValueRange[]): void {
  const piece = remaining[index]!;
  taken.push({ ...piece, ranges: { range: values } });
  remaining[index] = { ...piece, ranges: { range: subtractRanges(piece.ranges?.range ?? [], values) } };
}

function isEmpty(resource: Resource): boolean {
  if (resource.type === 'SCALAR') return toMilli(resource.scalar?.value ?? 0) <= 0;
  if (resource.type === 'RANGES') return (resource.ranges?.range ?? []).length === 0;
  if (resource.type === 'SET') return (resource.set?.item ?? []).length === 0;
  return false;
}

// Several taken pieces of one pool (e.g. two named ports from one range) become one resource,
// as Mesos would merge them anyway; it keeps the ACCEPT small.
function mergeTaken(taken: Resource[]): Resource[] {
  if (taken.length < 2) return taken;
  // Most requests take one piece per name: nothing to merge, and no keys to build.
  const names = new Set<string>();
  for (const piece of taken) names.add(piece.name);
  if (names.size === taken.length) return taken;
  const byPool = new Map<string, Resource>();
  for (const piece of taken) {
    const key = resourcePoolKey(piece);
    const existing = byPool.get(key);
    if (existing === undefined) {
      byPool.set(key, piece);
    } else if (piece.type === 'SCALAR') {
      byPool.set(key, {
        ...existing,
        scalar: { value: (toMilli(existing.scalar?.value ?? 0) + toMilli(piece.scalar?.value ?? 0)) / MILLI },
      });
    } else if (piece.type === 'RANGES') {
      byPool.set(key, {
        ...existing,
        ranges: { range: mergeRanges([...(existing.ranges?.range ?? []), ...(piece.ranges?.range ?? [])]) },
      });
    }
  }
  return [...byPool.values()];
}
