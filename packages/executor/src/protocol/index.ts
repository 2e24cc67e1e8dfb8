// @spark-mesos/executor/protocol: both ends of the driver ↔ executor link. The driver imports
// createDriverEndpoint; the executor's bin uses connectDriverLink.

export type { TaskError, TaskFunctionSpec, TaskOutcome, TaskSpec } from '../task-spec.js';
export {
  createDriverEndpoint,
  type DriverEndpoint,
  type DriverEndpointEvents,
  type DriverEndpointOptions,
  type RegisteredExecutor,
} from './driver-endpoint.js';
export {
  connectDriverLink,
  type ExecutorLink,
  type ExecutorLinkHandlers,
  type ExecutorLinkOptions,
} from './executor-link.js';
export {
  DEFAULT_STATUS_DATA_LIMIT_BYTES,
  decodeFineStatusData,
  encodeFineStatusData,
  type FineStatusData,
} from './fine-status-data.js';
export { DEFAULT_MAX_FRAME_BYTES, HANDSHAKE_MAX_FRAME_BYTES } from './frames.js';
export { DRIVER_LINK_PROTOCOL_VERSION } from './handshake.js';
export type {
  DriverMessage,
  ExecutorMessage,
  ExecutorMode,
  ExecutorRegistration,
  HandshakeMessage,
  LinkLogger,
  TaskOutcomeReport,
} from './messages.js';
