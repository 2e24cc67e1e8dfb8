// Build the executor package once and host it where every agent can fetch it.

export type {
  ArtifactDestination,
  ArtifactFile,
  DestinationFactory,
  DestinationOperationContext,
  DestinationOptions,
  FetchCheck,
  StoredArtifact,
} from './destination.js';
export {
  EXECUTOR_ENTRY,
  EXECUTOR_PACKAGE_DIRECTORY,
  executorPackageName,
  PACKAGE_MTIME_SECONDS,
  type PackExecutorOptions,
  type PackedExecutor,
  packExecutor,
} from './pack-executor.js';
