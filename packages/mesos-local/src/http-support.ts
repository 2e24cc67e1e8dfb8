import type { IncomingMessage } from 'node:http';
import type { MesosEncoding } from '@spark-mesos/mesos-client';

/**
 * What the master's scheduler API and the agents' executor API share: reading a call's body,
 * content negotiation, decoding a call with Mesos' 400 texts, and the refusal they answer with.
 *
 * @module
 */

/** Calls are small; a larger body is refused rather than buffered without bound. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** A refusal: the status, plain-text body and headers Mesos answers with. */
export class HttpProblem {
  constructor(
    readonly status: number,
    readonly text: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

/** The whole body of a request (at most {@link MAX_BODY_BYTES}; a larger one destroys the request). */
export function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy(new Error('Request body too large'));
      else chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

/** Whether `accept` (an `Accept` header) allows `mediaType`; no header allows everything. */
export function acceptsMediaType(accept: string | undefined, mediaType: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const [type] = mediaType.split('/');
  return accept.split(',').some((entry) => {
    const [range = '', ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) return false;
    return range === mediaType || range === '*/*' || range === `${type}/*`;
  });
}

/** The two codecs of one call type (scheduler or executor `Call`). */
export interface CallCodecs<T> {
  readonly json: { decode(bytes: Uint8Array): T };
  readonly protobuf: { decode(bytes: Uint8Array): T };
}

/**
 * Decodes a call's body, refusing it with the 400 texts of Mesos' HTTP handlers (a body that is
 * not JSON, JSON that is not a Call, bytes that are not a Call protobuf — proto2 parsing also
 * fails on a missing required field).
 *
 * @throws HttpProblem 400
 */
export function decodeCallBody<T>(codecs: CallCodecs<T>, encoding: MesosEncoding, body: Buffer): T {
  if (encoding === 'json') {
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpProblem(400, 'Failed to parse body into JSON: syntax error at line 1 near: ');
    }
    try {
      return codecs.json.decode(body);
    } catch (error) {
      const message = (error as Error).message;
      const missing = /at field '([^']+)': the required field/.exec(message);
      throw new HttpProblem(
        400,
        `Failed to convert JSON into Call protobuf: ${missing ? `Missing required fields: ${missing[1]}` : message}`,
      );
    }
  }
  try {
    return codecs.protobuf.decode(body);
  } catch {
    throw new HttpProblem(400, 'Failed to parse body into Call protobuf');
  }
}
