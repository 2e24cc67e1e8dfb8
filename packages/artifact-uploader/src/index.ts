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
export { createDestination, destinationFactories, normaliseDestination } from './destinations.js';
export { createFileDestination } from './file-destination.js';
export { createHttpDestination } from './http-destination.js';
export {
  EXECUTOR_ENTRY,
  EXECUTOR_PACKAGE_DIRECTORY,
  executorPackageName,
  PACKAGE_MTIME_SECONDS,
  type PackExecutorOptions,
  type PackedExecutor,
  packExecutor,
} from './pack-executor.js';
export {
  createProgressReporter,
  type ProgressOptions,
  type ProgressReporter,
  type ProgressStream,
} from './progress.js';
export { backoffDelay, isRetryable, type RetryOptions, withRetries } from './retry.js';
export {
  createS3Destination,
  S3_SCHEMES,
  type S3Credentials,
  type S3DestinationOptions,
  type S3StoreOptions,
} from './s3-destination.js';
export {
  createStoreReader,
  isStoredFileUri,
  listStoredFiles,
  readUrlOf,
  STORE_READ_SCHEMES,
  type StoredFile,
  type StoredFileReadUrl,
  type StoreReader,
  type StoreReaderOptions,
} from './stored-files.js';
export {
  createStoreWriter,
  STORE_WRITE_SCHEMES,
  type StoredFileWriteUrl,
  type StoreWriter,
  type StoreWriterOptions,
} from './stored-output.js';
export {
  type EnsuredExecutorPackage,
  type EnsureExecutorPackageOptions,
  ensureExecutorPackage,
  sha256OfFile,
  splitDestination,
  type UploadEvent,
  type UploadOptions,
  type UploadResult,
  uploadArtifact,
} from './upload.js';
export { runUploadCommand, UPLOAD_EXIT_CODES, UPLOAD_USAGE, type UploadCommandIo } from './upload-command.js';
export {
  createWebHdfsDestination,
  WEBHDFS_SCHEMES,
  type WebHdfsDestinationOptions,
  type WebHdfsStoreOptions,
} from './webhdfs-destination.js';
