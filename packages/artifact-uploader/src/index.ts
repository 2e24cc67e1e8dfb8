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
