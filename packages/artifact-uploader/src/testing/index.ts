// Test support other packages' tests and the benchmarks reuse: servers started on loopback
// (nginx with WebDAV, S3, WebHDFS) and a packable runtime + application fixture.
export {
  findNginx,
  NGINX_TEST_TOKEN,
  NGINX_TEST_USER,
  type NginxTestServer,
  startNginxServer,
} from './nginx-server.js';
export { createPackFixture, type PackFixture } from './package-fixtures.js';
export { type RecordedS3Request, type S3ServerOptions, type S3TestServer, startS3Server } from './s3-server.js';
export {
  type ReadOnlyPath,
  type RecordedWebHdfsRequest,
  startWebHdfsServer,
  type WebHdfsFaults,
  type WebHdfsServerOptions,
  type WebHdfsTestServer,
} from './webhdfs-server.js';
