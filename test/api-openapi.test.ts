// /openapi.json passes a standard validator and matches what the server
// answers, route for route; every error code is in it; /docs renders the
// reference offline in headless Chromium, asking nothing of the internet.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from '@readme/openapi-parser';
import { buildRoutes } from '../src/http/routes.js';
import { openApiPath, WS_PATH } from '../src/openapi.js';
import { ERROR_CODES } from '../common/errors.js';
import { EVENT_TYPES } from '../common/schemas/stream.js';
import type { RouteDeps } from '../src/http/routes.js';
import { startDaemon, type Daemon } from '../harness/daemon.js';
import { CHROMIUM, skipWithoutChromium } from '../harness/browser.js';

let d: Daemon;
let spec: any;
t.before(async () => {
  d = await startDaemon({
    workers: 1,
    toml: '[[host]]\nname = "localhost"\naddr = "localhost"\n\n[groups]\ng = ["localhost"]\n',
  });
  spec = (await d.get('/openapi.json')).body;
});
t.teardown(() => d?.stop());

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

t.test('the document passes the OpenAPI validator', async (t) => {
  t.equal(spec.openapi, '3.1.0');
  const result = await validate(structuredClone(spec));
  t.same((result as { errors?: unknown[] }).errors ?? [], [], 'no validation errors');
  t.equal((result as { valid: boolean }).valid, true);
  const ids = Object.values(spec.paths).flatMap((ops: any) => Object.values(ops).map((o: any) => o.operationId));
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique');
});

t.test('the document and the route table describe the same routes', async (t) => {
  // Only the route definitions are read: no handler runs, so the parts they would use are empty.
  const routes = buildRoutes({ system: { version: 'test' }, hosts: {}, groups: {}, fleet: {}, jobs: {}, pipeline: { auth: false, rateLimit: false } } as unknown as RouteDeps);
  const table = new Set(routes.map((r) => `${r.method} ${openApiPath(r.path)}`));
  const documented = new Set<string>();
  for (const [path, ops] of Object.entries(spec.paths as Record<string, object>)) {
    for (const m of Object.keys(ops)) if (METHODS.includes(m)) documented.add(`${m.toUpperCase()} ${path}`);
  }
  documented.delete(`GET ${WS_PATH}`); // the upgrade is served by the WebSocket handler, not the table
  t.same([...table].filter((r) => !documented.has(r)), [], 'every route is documented');
  t.same([...documented].filter((r) => !table.has(r)), [], 'every documented operation is a route');
  t.ok(table.size >= 20, `${table.size} routes`);
});

t.test('the server answers every documented operation (no 404 ROUTE_NOT_FOUND, no 405)', async (t) => {
  let n = 0;
  for (const [path, ops] of Object.entries(spec.paths as Record<string, object>)) {
    for (const m of Object.keys(ops)) {
      if (!METHODS.includes(m) || path === WS_PATH) continue;
      const concrete = path.replace('{name}', 'localhost').replace('{id}', 'no-such-job');
      // Bodies that fail validation keep the probe free of side effects.
      const r = await d.request(m.toUpperCase(), concrete, m === 'get' ? undefined : { not_a_field: true });
      t.not(r.body?.code, 'ROUTE_NOT_FOUND', `${m.toUpperCase()} ${path}`);
      t.not(r.status, 405, `${m.toUpperCase()} ${path} method`);
      t.ok(r.status < 500, `${m.toUpperCase()} ${path}: ${r.status}`);
      n++;
    }
  }
  t.ok(n >= 20);
  // And the reverse: a method the document does not list is 405 with Allow.
  const r = await d.request('PUT', '/hosts/localhost', {});
  t.equal(r.status, 405);
  const allow = (r.headers.get('allow') ?? '').split(',').map((s) => s.trim().toLowerCase()).sort();
  t.same(allow, Object.keys(spec.paths['/hosts/{name}']).sort(), 'Allow lists exactly the documented methods');
});

t.test('every error code is in the document, once', async (t) => {
  const codes = Object.keys(ERROR_CODES);
  t.equal(new Set(codes).size, codes.length, 'codes are unique');
  const listed = (spec['x-error-codes'] as Array<{ code: string; status: number }>).map((c) => c.code);
  t.same(listed, codes, 'x-error-codes lists every code, once, in table order');
  t.same(spec.components.schemas.ErrorCode.enum, codes, 'and the ErrorCode schema');
  for (const c of spec['x-error-codes']) t.equal(c.status, ERROR_CODES[c.code as keyof typeof ERROR_CODES].status, `${c.code} status`);
  const text = JSON.stringify(spec.paths);
  // (UNAUTHORIZED and RATE_LIMITED appear only when auth / rate limiting are on: test/api-errors.test.ts.)
  for (const code of ['HOST_EXISTS', 'HOST_BUSY', 'HOST_NOT_FAILED', 'JOB_FINISHED', 'GROUP_NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'WORKER_UNAVAILABLE']) {
    t.match(text, code, `${code} appears on the operations that answer it`);
  }
  t.notMatch(text, 'RATE_LIMITED', 'rate limiting is off here: no operation lists RATE_LIMITED');
  t.notMatch(text, 'UNAUTHORIZED', 'auth is off here: no operation lists UNAUTHORIZED');
});

t.test('the stream events in the document are the stream-event union, the list the filter accepts', async (t) => {
  const documented = spec.components.schemas.StreamEvent.anyOf.map((s: any) => s.properties.type.const);
  t.same(documented, [...EVENT_TYPES], 'StreamEvent lists every event type, in order');
  const messages = spec.components.schemas.StreamMessage.anyOf.map((s: any) => s.properties.type.const);
  for (const type of EVENT_TYPES) t.ok(messages.includes(type), `${type} is a stream message`);
});

t.test('/docs renders the API reference offline', { skip: skipWithoutChromium() }, async (t) => {
  const page = await d.get('/docs');
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.notMatch(page.text, /https?:\/\/(?!127\.0\.0\.1)/, 'the page itself references no remote URL');
  const script = await fetch(`${d.url}/docs/standalone.js`);
  t.equal(script.status, 200);
  t.match(script.headers.get('content-type'), /javascript/);
  t.ok((await script.arrayBuffer()).byteLength > 1_000_000, 'the Scalar bundle from node_modules');

  const profile = mkdtempSync(join(tmpdir(), 'tendhost-chromium-'));
  const netlog = join(profile, 'netlog.json');
  const run = spawnSync(
    CHROMIUM ?? 'chromium',
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, `--log-net-log=${netlog}`,
      '--virtual-time-budget=8000', '--window-size=1280,900', '--dump-dom', `${d.url}/docs`,
    ],
    { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
  );
  t.equal(run.status, 0, `chromium exited 0 (${run.stderr?.split('\n').filter((l) => !/dbus/.test(l)).slice(-3).join(' | ')})`);
  const dom = run.stdout;
  for (const summary of ['List hosts', 'Register a host', 'Cancel a job', 'Every tag with its host count']) {
    t.ok(dom.includes(summary), `the rendered page shows "${summary}"`);
  }
  t.ok(dom.includes('tendhost'), 'the title');
  // Every request the page made (chromium's own update/account pings are not the page's).
  const urls = [...readFileSync(netlog, 'utf8').matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
  // (Chromium 156 also checks in with android.clients.google.com and fetches www.google.com/async/folae by itself.)
  const browserOwn = /^https?:\/\/(clients2\.google\.com\/time\/|update\.googleapis\.com\/service\/update2\/|accounts\.google\.com\/ListAccounts|android\.clients\.google\.com\/checkin|www\.google\.com\/async\/folae\?|optimizationguide-pa\.googleapis\.com\/)/;
  const pageUrls = new Set(urls.filter((u) => !browserOwn.test(u)));
  t.same([...pageUrls].filter((u) => !u.startsWith(d.url)), [], 'the page asked nothing of the internet');
  t.ok(pageUrls.has(`${d.url}/openapi.json`), 'it loaded the document from the daemon');
  t.ok(pageUrls.has(`${d.url}/docs/standalone.js`), 'and the script');
});
