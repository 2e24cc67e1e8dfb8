// Which store serves which URI scheme. One table, so adding a store is adding a row.
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { redactUrlCredentials, SparkMesosError } from '@spark-mesos/errors';
import type { ArtifactDestination, DestinationFactory, DestinationOptions } from './destination.js';
import { createFileDestination } from './file-destination.js';
import { createHttpDestination } from './http-destination.js';
import { createS3Destination, S3_SCHEMES } from './s3-destination.js';
import { createWebHdfsDestination, WEBHDFS_SCHEMES } from './webhdfs-destination.js';

/**
 * The stores by URI scheme (without the colon): `file`, `http`, `https`, `s3`, `s3a`, `s3n`,
 * `hdfs`, `webhdfs` and `swebhdfs`.
 */
export const destinationFactories: Readonly<Record<string, DestinationFactory>> = {
  file: createFileDestination,
  http: createHttpDestination,
  https: createHttpDestination,
  ...Object.fromEntries(S3_SCHEMES.map((scheme) => [scheme, createS3Destination])),
  ...Object.fromEntries(WEBHDFS_SCHEMES.map((scheme) => [scheme, createWebHdfsDestination])),
};

/**
 * A destination as a URI: an absolute local path becomes a `file://` URI (keeping a trailing
 * `/`); anything else is returned as is.
 */
export function normaliseDestination(destination: string): string {
  if (isAbsolute(destination) && !/^[a-z][a-z0-9+.-]*:/i.test(destination)) {
    const uri = pathToFileURL(destination).toString();
    return destination.endsWith('/') && !uri.endsWith('/') ? `${uri}/` : uri;
  }
  return destination;
}

/**
 * The store for `uri`, by its scheme.
 *
 * @throws SparkMesosError `SM_ERR_BAD_CONFIG` naming the supported schemes for any other.
 */
export function createDestination(
  uri: string,
  options: DestinationOptions = {},
  factories: Readonly<Record<string, DestinationFactory>> = destinationFactories,
): ArtifactDestination {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  const factory = scheme === undefined ? undefined : factories[scheme];
  if (factory === undefined) {
    const supported = Object.keys(factories)
      .sort()
      .map((name) => `${name}://`)
      .join(', ');
    throw new SparkMesosError(
      'SM_ERR_BAD_CONFIG',
      `Cannot upload to "${redactUrlCredentials(uri)}": ${scheme === undefined ? 'no URI scheme' : `unsupported scheme "${scheme}:"`}. ` +
        `Use one of ${supported} (or an absolute local path).`,
      { cause: { uri: redactUrlCredentials(uri), scheme } },
    );
  }
  return factory(uri, options);
}
