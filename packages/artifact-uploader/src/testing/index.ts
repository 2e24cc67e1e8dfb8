// Test support for stores: servers that tests start on loopback.

export { type RecordedS3Request, type S3ServerOptions, type S3TestServer, startS3Server } from './s3-server.js';
export {
  type ReadOnlyPath,
  type RecordedWebHdfsRequest,
  startWebHdfsServer,
  type WebHdfsFaults,
  type WebHdfsServerOptions,
  type WebHdfsTestServer,
} from './webhdfs-server.js';
