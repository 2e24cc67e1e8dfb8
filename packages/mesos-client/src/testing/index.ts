/**
 * Test support of `@spark-mesos/mesos-client`: a loopback server replaying recorded Mesos
 * exchanges byte for byte, and the loaders and HTTP helpers it is built on.
 *
 * @see https://mesos.apache.org/documentation/latest/scheduler-http-api/
 * @module
 */
export {
  type DechunkedBody,
  decodeChunked,
  encodeChunk,
  getHeader,
  type HttpHead,
  type HttpHeader,
  isChunked,
  LAST_CHUNK,
  parseHttpHead,
} from './http-message.js';
export {
  loadRecordedExchange,
  parseRecordedRequest,
  parseRecordedResponse,
  parseTimeline,
  type RecordedExchange,
  type RecordedRecv,
  type RecordedRequest,
  type RecordedResponse,
  rechunkRecordIo,
} from './recorded-exchange.js';
export {
  type ReceivedRequest,
  type ReplayMatch,
  type ReplayMismatch,
  type ReplayServer,
  type ReplayServerOptions,
  type ReplayServerTlsOptions,
  type ReplayStep,
  startReplayServer,
} from './replay-server.js';
