import { SparkMesosError } from '@spark-mesos/errors';
import type { Attribute, Resource, ValueRange } from '@spark-mesos/mesos-client';

/**
 * Mesos resources as the agent flag `--resources` writes them, and the arithmetic the master
 * needs (what is left of an agent, whether a task fits an offer).
 *
 * @see https://mesos.apache.org/documentation/latest/attributes-resources/
 * @module
 */

/** The resources an agent has when none are given (the issue's default agent). */
export const DEFAULT_AGENT_RESOURCES = 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]';

// Mesos keeps scalars as fixed-point with three decimals; so do we, so that 0.1 + 0.2 fits 0.3.
function roundScalar(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function badResources(text: string, why: string): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_BAD_RESOURCES',
    `Cannot parse the resources "${text}": ${why}. Write them as Mesos does, e.g. "cpus:4;mem:4096;ports:[31000-32000];cpus(spark):2".`,
    { cause: { resources: text } },
  );
}

function parseRanges(text: string, whole: string): ValueRange[] {
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  return inner.split(',').map((part) => {
    const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
    if (!match) throw badResources(whole, `"${part.trim()}" is not a range "begin-end"`);
    const begin = Number(match[1]);
    const end = Number(match[2]);
    if (begin > end) throw badResources(whole, `the range "${part.trim()}" ends before it begins`);
    return { begin, end };
  });
}

/**
 * Parses Mesos' resource syntax: `name(role):value` pairs separated by `;`, where a value is a
 * scalar (`4`, `0.5`), ranges (`[31000-32000,33000-33010]`) or a set (`{a,b}`). A name without
 * `(role)` belongs to `defaultRole`.
 *
 * @param text e.g. `cpus:4;mem:4096;disk:10000;ports:[31000-32000];cpus(spark):2`
 * @param defaultRole the role of resources without one. @default '*'
 * @returns resources shaped as in offers: `{ name, type, scalar|ranges|set, role }`
 * @throws SparkMesosError `SM_ERR_BAD_RESOURCES` naming the text when it does not parse
 */
export function parseResources(text: string, defaultRole = '*'): Resource[] {
  let parsed: Resource[] = [];
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0) throw badResources(text, `"${item}" is not "name:value"`);
    const key = item.slice(0, colon).trim();
    const value = item.slice(colon + 1).trim();
    const keyMatch = /^([A-Za-z0-9_.-]+)(?:\(([^()]+)\))?$/.exec(key);
    if (!keyMatch) throw badResources(text, `"${key}" is not a resource name with an optional (role)`);
    const name = keyMatch[1] as string;
    const role = keyMatch[2] ?? defaultRole;
    let resource: Resource;
    if (value.startsWith('[') && value.endsWith(']')) {
      resource = { name, type: 'RANGES', ranges: { range: parseRanges(value, text) }, role };
    } else if (value.startsWith('{') && value.endsWith('}')) {
      const items = value
        .slice(1, -1)
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
      resource = { name, type: 'SET', set: { item: items }, role };
    } else {
      const scalar = Number(value);
      if (value === '' || !Number.isFinite(scalar) || scalar < 0) {
        throw badResources(text, `"${value}" of "${name}" is not a number ≥ 0, [ranges] or {set}`);
      }
      resource = { name, type: 'SCALAR', scalar: { value: roundScalar(scalar) }, role };
    }
    parsed = addResources(parsed, [resource]);
  }
  return parsed;
}

/**
 * Parses agent attributes as the agent flag `--attributes` writes them: `name:value` pairs
 * separated by `;`; a number is a scalar, `[a-b]` ranges, `{a,b}` a set, anything else text.
 *
 * @throws SparkMesosError `SM_ERR_BAD_ATTRIBUTES` for a pair without `:`
 */
export function parseAttributes(text: string): Attribute[] {
  const attributes: Attribute[] = [];
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0) {
      throw new SparkMesosError(
        'SM_ERR_BAD_ATTRIBUTES',
        `Cannot parse the attributes "${text}": "${item}" is not "name:value". Write them as Mesos does, e.g. "rack:r1;zone:a".`,
        { cause: { attributes: text } },
      );
    }
    const name = item.slice(0, colon).trim();
    const value = item.slice(colon + 1).trim();
    if (/^-?\d+(\.\d+)?$/.test(value)) {
      attributes.push({ name, type: 'SCALAR', scalar: { value: Number(value) } });
    } else if (value.startsWith('[') && value.endsWith(']')) {
      attributes.push({ name, type: 'RANGES', ranges: { range: parseRanges(value, text) } });
    } else if (value.startsWith('{') && value.endsWith('}')) {
      attributes.push({
        name,
        type: 'SET',
        set: {
          item: value
            .slice(1, -1)
            .split(',')
            .map((s) => s.trim()),
        },
      });
    } else {
      attributes.push({ name, type: 'TEXT', text: { value } });
    }
  }
  return attributes;
}

// Resources are alike (and add up) when name, type and role agree; allocation_info is only a
// label of an offer and never distinguishes resources.
function sameKind(a: Resource, b: Resource): boolean {
  return a.name === b.name && a.type === b.type && (a.role ?? '*') === (b.role ?? '*');
}

function normalizeRanges(ranges: readonly ValueRange[]): ValueRange[] {
  const sorted = [...ranges].sort((x, y) => x.begin - y.begin);
  const merged: ValueRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.begin <= last.end + 1) last.end = Math.max(last.end, range.end);
    else merged.push({ begin: range.begin, end: range.end });
  }
  return merged;
}

function subtractRanges(from: readonly ValueRange[], take: readonly ValueRange[]): ValueRange[] | undefined {
  let left = normalizeRanges(from);
  for (const cut of normalizeRanges(take)) {
    if (!left.some((range) => range.begin <= cut.begin && cut.end <= range.end)) return undefined;
    left = left.flatMap((range) => {
      if (cut.end < range.begin || cut.begin > range.end) return [range];
      const pieces: ValueRange[] = [];
      if (range.begin < cut.begin) pieces.push({ begin: range.begin, end: cut.begin - 1 });
      if (cut.end < range.end) pieces.push({ begin: cut.end + 1, end: range.end });
      return pieces;
    });
  }
  return left;
}

function isEmpty(resource: Resource): boolean {
  if (resource.type === 'SCALAR') return (resource.scalar?.value ?? 0) <= 0;
  if (resource.type === 'RANGES') return (resource.ranges?.range ?? []).length === 0;
  if (resource.type === 'SET') return (resource.set?.item ?? []).length === 0;
  return true;
}

/** A copy of `resource` without the offer's `allocation_info` (kept: name, type, value, role). */
export function stripAllocation(resource: Resource): Resource {
  // The common case (no allocation_info, a role) without a rest pattern, which V8 makes slow.
  if (resource.allocation_info === undefined && resource.role !== undefined) return { ...resource };
  const { allocation_info: _ignored, ...rest } = resource;
  return { ...rest, role: rest.role ?? '*' };
}

/**
 * `a + b`, merging alike resources (same name, type and role). Neither input is changed; the
 * result may share nested values (`reservations`, an unchanged `ranges`) with them, so treat
 * resources as immutable values.
 */
export function addResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  // A shallow copy is enough: the arithmetic below replaces `scalar`, `ranges` and `set` of the
  // copies and never writes into them (deep clones were most of an allocation cycle's cost).
  const sum = a.map(stripAllocation);
  for (const raw of b) {
    const resource = stripAllocation(raw);
    const same = sum.find((candidate) => sameKind(candidate, resource));
    if (!same) {
      if (!isEmpty(resource)) sum.push(resource);
      continue;
    }
    if (resource.type === 'SCALAR') {
      same.scalar = { value: roundScalar((same.scalar?.value ?? 0) + (resource.scalar?.value ?? 0)) };
    } else if (resource.type === 'RANGES') {
      same.ranges = { range: normalizeRanges([...(same.ranges?.range ?? []), ...(resource.ranges?.range ?? [])]) };
    } else if (resource.type === 'SET') {
      same.set = { item: [...new Set([...(same.set?.item ?? []), ...(resource.set?.item ?? [])])] };
    }
  }
  return sum;
}

/**
 * `from - take`, or `undefined` when `take` is not contained in `from` (a task asking for more
 * than its offer holds). Neither input is changed (see {@link addResources}).
 */
export function subtractResources(from: readonly Resource[], take: readonly Resource[]): Resource[] | undefined {
  const left = from.map(stripAllocation);
  for (const raw of take) {
    const resource = stripAllocation(raw);
    if (isEmpty(resource)) continue;
    const same = left.find((candidate) => sameKind(candidate, resource));
    if (!same) return undefined;
    if (resource.type === 'SCALAR') {
      const value = roundScalar((same.scalar?.value ?? 0) - (resource.scalar?.value ?? 0));
      if (value < 0) return undefined;
      same.scalar = { value };
    } else if (resource.type === 'RANGES') {
      const range = subtractRanges(same.ranges?.range ?? [], resource.ranges?.range ?? []);
      if (range === undefined) return undefined;
      same.ranges = { range };
    } else if (resource.type === 'SET') {
      const items = new Set(same.set?.item ?? []);
      for (const item of resource.set?.item ?? []) if (!items.delete(item)) return undefined;
      same.set = { item: [...items] };
    } else {
      return undefined;
    }
  }
  return left.filter((resource) => !isEmpty(resource));
}

/**
 * Resources as the JSON endpoints (`/state`) show them: scalars as numbers, ranges as
 * `"[31000-32000]"`, sets as `"{a,b}"`, summed over roles.
 */
export function resourceQuantities(resources: readonly Resource[]): Record<string, number | string> {
  const quantities: Record<string, number | string> = { cpus: 0, mem: 0, disk: 0, gpus: 0 };
  const byName = new Map<string, Resource[]>();
  for (const resource of resources) byName.set(resource.name, [...(byName.get(resource.name) ?? []), resource]);
  for (const [name, list] of byName) {
    const merged = addResources(
      [],
      list.map((resource) => ({ ...resource, role: '*' })),
    );
    const resource = merged[0];
    if (!resource) continue;
    if (resource.type === 'SCALAR') quantities[name] = resource.scalar?.value ?? 0;
    else if (resource.type === 'RANGES') {
      quantities[name] = `[${(resource.ranges?.range ?? []).map((r) => `${r.begin}-${r.end}`).join(', ')}]`;
    } else if (resource.type === 'SET') quantities[name] = `{${(resource.set?.item ?? []).join(', ')}}`;
  }
  return quantities;
}

/**
 * The reserved part of `resources` as `/master/state`'s `reserved_resources` shows it: by role,
 * each as {@link resourceQuantities}; unreserved (`*`) resources are left out.
 */
export function reservedQuantities(resources: readonly Resource[]): Record<string, Record<string, number | string>> {
  const byRole = new Map<string, Resource[]>();
  for (const resource of resources) {
    const role = resource.role ?? '*';
    if (role !== '*') byRole.set(role, [...(byRole.get(role) ?? []), resource]);
  }
  return Object.fromEntries([...byRole].map(([role, list]) => [role, resourceQuantities(list)]));
}

/** Attributes as the JSON endpoints show them: `{ name: value }`. */
export function attributeValues(attributes: readonly Attribute[]): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  for (const attribute of attributes) {
    if (attribute.type === 'SCALAR') values[attribute.name] = attribute.scalar?.value ?? 0;
    else if (attribute.type === 'TEXT') values[attribute.name] = attribute.text?.value ?? '';
    else if (attribute.type === 'RANGES') {
      values[attribute.name] = `[${(attribute.ranges?.range ?? []).map((r) => `${r.begin}-${r.end}`).join(', ')}]`;
    } else values[attribute.name] = `{${(attribute.set?.item ?? []).join(', ')}}`;
  }
  return values;
}
