import { describe, expect, it } from 'vitest';
import { getTypePlan } from './codec-plan.js';
import { decodeProtobuf, decodeProtobufReference } from './codec-protobuf.js';

// Resource: name = 1 (string, interned), type = 2 (enum), scalar = 3 (Value.Scalar, value = 1 double).
function resourceBytes(name: Uint8Array): Uint8Array {
  const length = name.length < 0x80 ? [name.length] : [(name.length & 0x7f) | 0x80, name.length >> 7];
  return Uint8Array.from([0x0a, ...length, ...name, 0x10, 0x00, 0x1a, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
}

const encoder = new TextEncoder();
const plan = getTypePlan('mesos.v1.Resource');

function decodeName(name: Uint8Array): string {
  const bytes = resourceBytes(name);
  const decoded = decodeProtobuf(plan, bytes) as { name: string };
  // Always what protobufjs' own decoder reads.
  expect(decoded).toEqual(decodeProtobufReference(plan, bytes));
  return decoded.name;
}

describe('interned string fields (Resource.name and the like)', () => {
  it('plans the vocabulary of a cluster as interned, and per-object IDs and messages not', () => {
    expect(getTypePlan('mesos.v1.Resource').byName.get('name')?.interned).toBe(true);
    expect(getTypePlan('mesos.v1.AgentID').byName.get('value')?.interned).toBe(true);
    expect(getTypePlan('mesos.v1.Offer').byName.get('hostname')?.interned).toBe(true);
    expect(getTypePlan('mesos.v1.OfferID').byName.get('value')?.interned).toBe(false);
    expect(getTypePlan('mesos.v1.TaskID').byName.get('value')?.interned).toBe(false);
    expect(getTypePlan('mesos.v1.TaskStatus').byName.get('message')?.interned).toBe(false);
  });

  it('decodes a recurring value as it decodes it the first time', () => {
    const first = decodeName(encoder.encode('cpus'));
    const second = decodeName(encoder.encode('cpus'));
    expect(first).toBe('cpus');
    expect(second).toBe(first);
    expect(decodeName(encoder.encode('mem'))).toBe('mem');
    expect(decodeName(encoder.encode(''))).toBe('');
  });

  it('decodes values of the same length but other bytes as themselves', () => {
    // Many same-length names, so that some share a slot of the table.
    const names = Array.from({ length: 20_000 }, (_, index) => `r${String(index).padStart(6, '0')}`);
    for (const name of names) expect(decodeName(encoder.encode(name))).toBe(name);
    for (const name of names.slice(0, 500)) expect(decodeName(encoder.encode(name))).toBe(name);
  });

  it('decodes non-ASCII, invalid UTF-8, long and 2-byte-length values as protobufjs does', () => {
    expect(decodeName(encoder.encode('gpü-tëst'))).toBe('gpü-tëst');
    expect(decodeName(encoder.encode('gpü-tëst'))).toBe('gpü-tëst');
    // Invalid UTF-8 decodes to U+FFFD, which must never be taken for the ASCII bytes of another value.
    expect(decodeName(Uint8Array.from([0xff, 0xfe]))).toBe('\uFFFD\uFFFD');
    expect(decodeName(encoder.encode('ab'))).toBe('ab');
    const long = 'x'.repeat(64);
    expect(decodeName(encoder.encode(long))).toBe(long);
    expect(decodeName(encoder.encode(`${long}y`))).toBe(`${long}y`);
    const longer = 'z'.repeat(300);
    expect(decodeName(encoder.encode(longer))).toBe(longer);
  });
});
