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
  createS3Destination,
  S3_SCHEMES,
  type S3Credentials,
  type S3DestinationOptions,
  type S3StoreOptions,
} from './s3-destination.js';
export {
  createWebHdfsDestination,
  WEBHDFS_SCHEMES,
  type WebHdfsDestinationOptions,
  type WebHdfsStoreOptions,
} from './webhdfs-destination.js';
