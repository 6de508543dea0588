// Which uWebSockets.js build serves: a native one for this Node ABI and libc
// (reported on /health), and no silent fallback — without a native build the
// daemon refuses to start unless `[daemon] allow_slow_http = true`.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runToExit, startDaemon, writeConfig } from '../harness/daemon.js';
import { EXIT } from '../src/exit-codes.js';

// Read from node_modules directly: @btc-vision's `exports` hides its package.json.
const versionOf = (pkg: string) => JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version as string;

/** glibc ≥ 2.38 loads @btc-vision's binaries (Node 20–25); older glibc only the trufflesuite one (Node 20). */
function expectedPackage(): string | null {
  const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
  const [major, minor] = (glibc ?? '0.0').split('.').map(Number);
  if (major! > 2 || (major === 2 && minor! >= 38)) return '@btc-vision/uwebsockets.js';
  if (process.versions.modules === '115') return '@trufflesuite/uws-js-unofficial';
  return null;
}

t.test('the daemon serves on the native build for this Node and libc, and /health names it', async (t) => {
  const pkg = expectedPackage();
  if (pkg === null) {
    t.fail(`no native uWS build is expected to load on Node ${process.version} with this libc: run on glibc >= 2.38 or Node 20`);
    return;
  }
  const d = await startDaemon({ workers: 1 });
  t.teardown(() => d.stop());
  const r = await d.get('/health');
  t.equal(r.status, 200);
  t.equal(r.body.status, 'healthy');
  t.same(r.body.uws, { build: 'native', package: pkg, version: versionOf(pkg), abi: process.versions.modules });
  const listening = d.logs.find((l) => l.msg === 'listening')!;
  t.match(listening.uws, new RegExp(`^native \\(${pkg.replace(/[./]/g, '\\$&')} `), 'the listening line names the build');
});

t.test('without a native build the daemon refuses to start: exit 6 and a message naming the way out', async (t) => {
  const { file } = writeConfig({ workers: 1 });
  const { code, output } = await runToExit(file, { TENDHOST_TEST_SWITCHES: 'no-native-uws' });
  t.equal(code, EXIT.NO_NATIVE_HTTP);
  t.equal(code, 6);
  t.match(output, /no native uWebSockets\.js build loads on Node v\d+/);
  t.match(output, /allow_slow_http = true/);
  t.match(output, /@btc-vision\/uwebsockets\.js: skipped/, 'says what was tried');
  t.notMatch(output, /"msg":"listening"/, 'never listened');
});

t.test('allow_slow_http = true serves on the pure-JS fallback, loudly, and /health says degraded', async (t) => {
  const d = await startDaemon({ workers: 1, daemon: 'allow_slow_http = true', env: { TENDHOST_TEST_SWITCHES: 'no-native-uws' } });
  t.teardown(() => d.stop());
  const r = await d.get('/health');
  t.equal(r.status, 200);
  t.equal(r.body.status, 'degraded');
  t.same(r.body.uws, {
    build: 'fallback',
    package: '@trufflesuite/uws-js-unofficial',
    version: versionOf('@trufflesuite/uws-js-unofficial'),
    abi: process.versions.modules,
  });
  t.ok(d.logs.some((l) => l.level === 'error' && /slow pure-JS fallback/.test(l.msg)), 'an error line says so');
  const hosts = await d.get('/hosts?per_page=1');
  t.equal(hosts.status, 200, 'the API answers on the fallback');
  t.equal(hosts.body.pagination.per_page, 1, 'with its query string');
  const bad = await d.request('POST', '/hosts', '{"name":');
  t.equal(bad.status, 400, 'a body is read and refused on the fallback too');
});

t.test('allow_slow_http must be a boolean', async (t) => {
  const { file } = writeConfig({ workers: 1, daemon: 'allow_slow_http = "yes"' });
  const { code, output } = await runToExit(file);
  t.equal(code, EXIT.CONFIG);
  t.match(output, /daemon\.allow_slow_http/);
});
