// A few thousand random and malformed requests with a fixed seed: random
// methods, paths (percent-encoding junk, very long), queries, headers (bad
// Authorization, odd content types), bodies (garbage, huge numbers, deep
// nesting), plus raw malformed HTTP over sockets. Not one may get a 5xx, and
// the daemon must still answer /health afterwards.
import t from 'tap';
import { connect } from 'node:net';
import { hashToken } from '../src/http/auth.js';
import { LOCALHOST_TOML, startDaemon, type Daemon } from '../harness/daemon.js';

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 0x7e4d05;
const FETCH_REQUESTS = 2500;
const RAW_REQUESTS = 400;
const TIME_BUDGET_MS = 60_000;
const TOKEN = 'fuzz-token-1';

const rand = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (n: number) => Math.floor(rand() * n);

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD', 'GET', 'POST'] as const;
const PATHS = [
  '/health', '/hosts', '/hosts/localhost', '/hosts/fz-1', '/hosts/localhost/update', '/hosts/localhost/reboot',
  '/hosts/localhost/retry', '/hosts/localhost/acknowledge', '/hosts/localhost/inventory', '/hosts/fz-1/host-key/accept',
  '/groups', '/groups/g', '/tags', '/jobs', '/jobs/x', '/jobs/x/cancel', '/fleet/update', '/openapi.json', '/docs',
  '/metrics', '/ws/events', '/docs/standalone.js', '/livez', '/readyz', '/', '/hosts/', '//hosts', '/hosts/%', '/hosts/%zz', '/hosts/%00', '/hosts/%C3%28',
  '/hosts/..%2f..%2fetc%2fpasswd', '/hosts/a%2Fb', '/jobs/%ff%fe/cancel', '/groups/%E2%82%AC',
];
const JUNK = ['%', '%%', '%zz', '%00', '%ff', '..', '\u00e9', '+', ';', ',', '~', '*', '@', '!', "'", '(', ')'];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'APPLICATION/JSON', '', 'multipart/form-data; boundary=x', 'application/jsonx'];

function randomString(max: number): string {
  const n = int(max);
  let s = '';
  for (let i = 0; i < n; i++) s += rand() < 0.3 ? pick(JUNK) : String.fromCharCode(33 + int(90));
  return s;
}

function randomPath(): string {
  const r = rand();
  if (r < 0.6) return pick(PATHS);
  if (r < 0.8) return `/${pick(['hosts', 'jobs', 'groups', 'tags', 'fleet'])}/${encodeURIComponent(randomString(40)).replace(/%2[5F]/g, pick(JUNK))}`;
  if (r < 0.9) return `/hosts/${'a'.repeat(200 + int(8000))}`;
  return `/${randomString(30)}`.replace(/[#?\s]/g, 'x');
}

function randomQuery(): string {
  if (rand() < 0.4) return '';
  const keys = ['page', 'per_page', 'tag', 'state', 'group', 'search', 'host', 'force', 'refresh', 'since', 'token', randomString(8)];
  const vals = ['1', '0', '-1', '1e309', '99999999999999999999', 'true', 'maybe', '', 'idle', 'failed', '%', '%zz', 'a'.repeat(3000), randomString(20)];
  const parts: string[] = [];
  for (let i = 0, n = 1 + int(5); i < n; i++) parts.push(`${pick(keys)}=${pick(vals)}`);
  return `?${parts.join(pick(['&', '&&', ';']))}`;
}

function nested(depth: number): unknown {
  if (depth === 0) return pick([1, 'x', null, true, 1e308, -0, 2 ** 53 + 1]);
  return rand() < 0.5 ? { [randomString(6) || 'k']: nested(depth - 1) } : [nested(depth - 1), nested(depth - 1)];
}

function randomBody(): string | undefined {
  const r = rand();
  if (r < 0.15) return undefined;
  if (r < 0.3) return randomString(200);
  if (r < 0.4) return '{"name": "fz-' + int(9) + '", "addr": ' + pick(['"127.0.0.50"', '1e400', '-', 'null', '"x"', '[]']) + pick(['}', '', '}}', ',}']);
  if (r < 0.5) return JSON.stringify({ dry_run: pick([true, false, 'yes', 1, null, 1e308]) });
  if (r < 0.6) return JSON.stringify({ batch_size: pick([1, 0, -1, 1e12, 1.5, 'x']), filter: { tags: [pick(['a', '', 1])] } });
  if (r < 0.7) return '['.repeat(1 + int(3000)) + ']'.repeat(int(3000));
  if (r < 0.8) return JSON.stringify(nested(1 + int(12)));
  if (r < 0.85) return JSON.stringify({ name: `fz-${int(3)}`, addr: '127.0.0.50', port: pick([22, 0, 65536, 1e308, '22']), tags: [randomString(10)] });
  if (r < 0.9) return '9'.repeat(1 + int(2000));
  return Buffer.from(Array.from({ length: int(500) }, () => int(256))).toString('latin1');
}

function randomHeaders(): Record<string, string> {
  const h: Record<string, string> = {};
  const r = rand();
  if (r < 0.3) h.authorization = `Bearer ${TOKEN}`;
  else if (r < 0.45) h.authorization = pick(['Bearer', 'Bearer ', 'Basic dXNlcjpwdw==', `Bearer ${TOKEN}x`, `bearer  ${'x'.repeat(5000)}`, 'Bearer a b', `Token ${TOKEN}`]);
  if (rand() < 0.7) h['content-type'] = pick(CONTENT_TYPES);
  if (rand() < 0.2) h['x-request-id'] = pick(['ok-1', randomString(20), 'x'.repeat(300)]);
  if (rand() < 0.1) h[`x-${randomString(10).replace(/[^a-z]/gi, '') || 'junk'}`] = randomString(50).replace(/[^\x20-\x7e]/g, '');
  return h;
}

let d: Daemon;
t.before(async () => {
  d = await startDaemon({
    workers: 2,
    toml: `
[daemon.auth]
enabled = true
tokens = [{ name = "fuzzer", token_hash = "${hashToken(TOKEN)}" }]

[daemon.http]
body_limit_bytes = 65536

${LOCALHOST_TOML}
[groups]
g = ["localhost"]
`,
  });
});
t.teardown(() => d?.stop());

t.test(`${FETCH_REQUESTS} random requests over fetch: no 5xx`, async (t) => {
  const started = Date.now();
  t.teardown(() => t.comment(`fetch phase: ${Date.now() - started} ms`));
  const statuses = new Map<number, number>();
  const fiveXX: string[] = [];
  let sent = 0;
  const one = async () => {
    const method = pick(METHODS);
    const path = randomPath() + randomQuery();
    const headers = randomHeaders();
    const body = method === 'GET' || method === 'HEAD' ? undefined : randomBody();
    try {
      const res = await fetch(d.url + path, { method, headers, body, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) fiveXX.push(`${method} ${path.slice(0, 120)} → ${res.status}`);
    } catch (err) {
      // fetch itself refuses some inputs (bad header values); the daemon never saw them.
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') fiveXX.push(`${method} ${path.slice(0, 120)} → timed out`);
      statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
    }
  };
  while (sent < FETCH_REQUESTS && Date.now() - started < TIME_BUDGET_MS) {
    const batch = Math.min(25, FETCH_REQUESTS - sent);
    await Promise.all(Array.from({ length: batch }, one));
    sent += batch;
  }
  t.same(fiveXX, [], 'no 5xx and no hang');
  t.ok(sent >= FETCH_REQUESTS * 0.5, `${sent} requests sent within the time budget`);
  t.ok((statuses.get(401) ?? 0) > 100, `401s for bad or missing tokens (${statuses.get(401)})`);
  t.ok((statuses.get(400) ?? 0) > 50, `400s for bad input (${statuses.get(400)})`);
  t.ok((statuses.get(200) ?? 0) > 50, `some requests were fine (${statuses.get(200)})`);
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
  const health = await d.get('/health');
  t.equal(health.status, 200);
});

t.test(`${RAW_REQUESTS} malformed HTTP messages over raw sockets: no 5xx, no crash`, async (t) => {
  const LINES = [
    () => `GET / HTTP/1.1\r\n\r\n`,
    () => `GARBAGE\r\n\r\n`,
    () => `GET /hosts HTTP/9.9\r\nhost: x\r\n\r\n`,
    () => `GET ${'/a'.repeat(5000)} HTTP/1.1\r\nhost: x\r\n\r\n`,
    () => `POST /hosts HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n`,
    () => `POST /hosts HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999999999999\r\n\r\n{}`,
    () => `POST /hosts HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 5\r\n\r\n{}`,
    () => `POST /hosts HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    () => `POST /hosts HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, identity\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    () => `GET /health HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n`,
    () => `GET /health HTTP/1.1\r\n${'x-h: v\r\n'.repeat(500)}\r\n`,
    () => `GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'v'.repeat(20000)}\r\n\r\n`,
    () => `\r\n\r\n\r\n`,
    () => `GET /hosts/%%%% HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\n\r\n`,
    () => `DELETE /hosts/localhost?force=%zz HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\n\r\n`,
    () => `GET /ws/events HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: bad\r\nsec-websocket-version: 13\r\n\r\n`,
    () => `GET /ws/events HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n`,
    () => `POST /hosts HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n${'\u0000'.repeat(10)}`,
    () => Buffer.from(Array.from({ length: 1 + int(300) }, () => int(256))).toString('latin1'),
    () => `GET /health HTTP/1.1\nhost: x\n\n`,
  ];
  const fiveXX: string[] = [];
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const msg = LINES[i % LINES.length]();
      const s = connect(d.port, '127.0.0.1');
      let got = '';
      const timer = setTimeout(() => s.destroy(), 1000);
      s.on('connect', () => s.write(msg, 'latin1'));
      s.on('data', (c) => {
        got += c.toString('latin1');
        if (/^HTTP\/1\.1 [0-9]{3}/.test(got) && got.includes('\r\n\r\n')) s.end();
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        const m = /^HTTP\/1\.1 ([0-9]{3})/.exec(got);
        if (m && Number(m[1]) >= 500) fiveXX.push(`#${i % LINES.length}: ${got.split('\r\n')[0]}`);
        resolve();
      });
    });
  const started = Date.now();
  for (let i = 0; i < RAW_REQUESTS && Date.now() - started < TIME_BUDGET_MS; i += 40) {
    await Promise.all(Array.from({ length: 40 }, (_, k) => one(i + k)));
  }
  t.same(fiveXX, [], 'no 5xx');
  t.equal(d.proc.exitCode, null, 'the daemon is still running');
  const health = await d.get('/health');
  t.equal(health.status, 200, '/health still answers');
  const hosts = await d.get('/hosts', { authorization: `Bearer ${TOKEN}` });
  t.equal(hosts.status, 200, 'and real requests');
  t.type(hosts.body.pagination.total_items, 'number');
  t.notOk(d.logs.some((l) => l.level === 'error' || l.level === 'fatal' || (l as { level: unknown }).level === 50), 'no error logged');
});
