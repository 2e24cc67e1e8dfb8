import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Mutual challenge–response over fresh nonces (both sides contribute one, so neither a replayed
// proof nor a proof reflected back at its sender is valid). The two directions use different
// labels, so a driver's proof can never pass as an executor's or the other way round.

/** The version of the driver link both sides announce in the handshake. */
export const DRIVER_LINK_PROTOCOL_VERSION = 2;

/** Bytes per nonce. */
export const NONCE_BYTES = 32;

/** A fresh random nonce. */
export function createNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** The HMAC-SHA256 proof of the side `role` over both nonces. */
export function handshakeProof(
  secret: Uint8Array,
  role: 'driver' | 'executor',
  driverNonce: Uint8Array,
  executorNonce: Uint8Array,
): Buffer {
  return createHmac('sha256', secret)
    .update(`spark-mesos driver link v${DRIVER_LINK_PROTOCOL_VERSION} ${role}\0`)
    .update(driverNonce)
    .update(executorNonce)
    .digest();
}

/** Whether `proof` (hex text from the wire) is the expected proof, compared in constant time. */
export function proofMatches(expected: Buffer, proof: unknown): boolean {
  if (typeof proof !== 'string' || proof.length !== expected.length * 2 || !/^[0-9a-f]+$/.test(proof)) return false;
  return timingSafeEqual(expected, Buffer.from(proof, 'hex'));
}

/** Parses a hex nonce from the wire; undefined when it is not exactly {@link NONCE_BYTES} bytes. */
export function parseNonce(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || value.length !== NONCE_BYTES * 2 || !/^[0-9a-f]+$/.test(value)) return undefined;
  return Buffer.from(value, 'hex');
}
