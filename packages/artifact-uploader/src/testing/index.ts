// Test helpers other packages' tests and the benchmark reuse: a loopback nginx with WebDAV and
// a packable runtime + application fixture.
export {
  findNginx,
  NGINX_TEST_TOKEN,
  NGINX_TEST_USER,
  type NginxTestServer,
  startNginxServer,
} from './nginx-server.js';
export { createPackFixture, type PackFixture } from './package-fixtures.js';
