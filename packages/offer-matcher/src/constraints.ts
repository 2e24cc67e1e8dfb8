import { SparkMesosError } from '@spark-mesos/errors';
import type { Attribute } from '@spark-mesos/mesos-client';

/**
 * Parsed attribute constraints: attribute name → accepted values. An empty set means "the
 * attribute must be present, any value" (Spark's `attr:`).
 */
export type AttributeConstraints = ReadonlyMap<string, ReadonlySet<string>>;

const GRAMMAR_HINT =
  'write entries as attribute:value1,value2 separated by ";" (an attribute alone, "os" or "os:", accepts any value)';

function badConstraints(key: string, text: string, entry: string, problem: string): SparkMesosError {
  return new SparkMesosError(
    'SM_ERR_BAD_CONSTRAINTS',
    `Bad constraint string in ${key}: entry "${entry}" of "${text}" ${problem}; ${GRAMMAR_HINT}.`,
    { cause: { key, value: text, entry }, details: { key, entry } },
  );
}

/**
 * Parses a constraint string — `spark.mesos.constraints`, `spark.mesos.driver.constraints` — in
 * the grammar `attr:v1,v2;attr2;attr3:`: entries separated by `;` (trimmed), each an attribute
 * name, optionally followed by `:` and values separated by `,`.
 * `os:centos7;zone:us-east-1a,us-east-1b` gives `{ os → {centos7}, zone → {us-east-1a, us-east-1b} }`;
 * `""` gives no constraints; `os` and `os:` both give `{ os → {} }` (present, with any value).
 *
 * Spark (Guava's `MapSplitter`) also rejects an entry without a `:` — its suite's "malformed"
 * input `os;zone:us-east` — while its documented grammar `attr2` allows one; here it is allowed,
 * as documented, and means the same as `attr2:`. Still errors: an entry with more than one `:`
 * (`a:b:c`), an empty attribute name (`:x`, or an empty entry such as a trailing `;`), and an
 * attribute named twice. Empty values inside a list (`a:x,,y`) are ignored.
 *
 * @param key the configuration key the text came from, named in errors.
 * @throws SparkMesosError `SM_ERR_BAD_CONSTRAINTS` naming the entry and the fix.
 * @see https://spark.apache.org/docs/3.5.0/running-on-mesos.html#configuration
 */
export function parseConstraintString(text: string, key = 'spark.mesos.constraints'): AttributeConstraints {
  const constraints = new Map<string, ReadonlySet<string>>();
  if (text.trim() === '') return constraints;
  for (const rawEntry of text.split(';')) {
    const entry = rawEntry.trim();
    const parts = entry.split(':');
    if (parts.length > 2) throw badConstraints(key, text, entry, 'has more than one ":"');
    const name = parts[0]!.trim();
    if (name === '') throw badConstraints(key, text, entry, 'names no attribute');
    if (constraints.has(name)) {
      throw new SparkMesosError(
        'SM_ERR_BAD_CONSTRAINTS',
        `Bad constraint string in ${key}: attribute "${name}" appears twice in "${text}"; list all its accepted values in one entry (${name}:value1,value2).`,
        { cause: { key, value: text, attribute: name }, details: { key, attribute: name } },
      );
    }
    const values = parts[1] ?? '';
    constraints.set(name, new Set(values.split(',').filter((value) => value !== '')));
  }
  return constraints;
}

/** One constraint an offer's attributes do not meet, for decline reasons. */
export interface UnmetConstraint {
  /** The attribute name. */
  attribute: string;
  /** The accepted values (empty: any value). */
  required: readonly string[];
  /** The offered value as text, or `undefined` when the offer lacks the attribute. */
  offered: string | undefined;
}

/** The offered value of an attribute as text, for messages. */
export function formatAttributeValue(attribute: Attribute): string {
  switch (attribute.type) {
    case 'SCALAR':
      return String(attribute.scalar?.value ?? 0);
    case 'RANGES':
      return `[${(attribute.ranges?.range ?? []).map((range) => `${range.begin}-${range.end}`).join(',')}]`;
    case 'SET':
      return `{${(attribute.set?.item ?? []).join(',')}}`;
    default:
      return attribute.text?.value ?? '';
  }
}

function attributeMatches(attribute: Attribute, required: ReadonlySet<string>): boolean {
  if (required.size === 0) return true;
  switch (attribute.type) {
    case 'SCALAR': {
      const offered = attribute.scalar?.value ?? 0;
      return [...required].some((value) => {
        const number = Number(value);
        return value.trim() !== '' && Number.isFinite(number) && number <= offered;
      });
    }
    case 'RANGES': {
      const ranges = attribute.ranges?.range ?? [];
      return [...required].some((value) => {
        if (!/^\s*\d+\s*$/.test(value)) return false;
        const number = Number(value);
        return ranges.some((range) => range.begin <= number && number <= range.end);
      });
    }
    case 'SET': {
      const offered = new Set(attribute.set?.item ?? []);
      return [...required].every((value) => offered.has(value));
    }
    default:
      return required.has(attribute.text?.value ?? '');
  }
}

/**
 * The constraints that `attributes` do not meet (empty when all are met). Per attribute type,
 * as Spark's `MesosSchedulerUtils.matchesAttributeRequirements`:
 * - absent attribute: unmet; empty accepted values: met whatever the value;
 * - SCALAR: met when some accepted value is ≤ the offered value;
 * - SET: met when the accepted values are a subset of the offered set;
 * - TEXT: met when the offered value is one of the accepted values;
 * - RANGES: met when some accepted value lies inside any offered range. Spark compared against
 *   a single `Value.Range` while offers carry `Value.Ranges`, so a valued range constraint never
 *   matched a real offer; this checks every offered range.
 */
export function unmetConstraints(
  constraints: AttributeConstraints,
  attributes: readonly Attribute[] | undefined,
): UnmetConstraint[] {
  const unmet: UnmetConstraint[] = [];
  if (constraints.size === 0) return unmet;
  const byName = new Map<string, Attribute>();
  for (const attribute of attributes ?? []) if (!byName.has(attribute.name)) byName.set(attribute.name, attribute);
  for (const [name, required] of constraints) {
    const attribute = byName.get(name);
    if (attribute === undefined) {
      unmet.push({ attribute: name, required: [...required], offered: undefined });
    } else if (!attributeMatches(attribute, required)) {
      unmet.push({ attribute: name, required: [...required], offered: formatAttributeValue(attribute) });
    }
  }
  return unmet;
}

/**
 * Whether an offer's attributes meet every constraint; see {@link unmetConstraints} for the
 * rules per attribute type (RANGES checks every offered range, where Spark checked none).
 */
export function matchesAttributeRequirements(
  constraints: AttributeConstraints,
  attributes: readonly Attribute[] | undefined,
): boolean {
  return unmetConstraints(constraints, attributes).length === 0;
}
