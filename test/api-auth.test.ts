// Bearer-token auth (HTTP and the WebSocket upgrade), the `hash-token`
// command that makes the config line, the acting user in logs and audit, and
// rate limiting per source address.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { hashToken } from '../src/http/auth.js';
import { LOCALHOST_TOML, ROOT, startDaemon, until, type Daemon } from '../harness/daemon.js';

const TOKEN = 'tk_9f8e7d6c5b4a';
const OTHER = 'tk_second_token';
const CLI = join(ROOT, 'dist/src/cli/main.js');

t.test('tendhost hash-token prints the tokens entry (argument or stdin)', async (t) => {
  const line = execFileSync(process.execPath, [CLI, 'hash-token', '--name', 'ci-bot', TOKEN], { encoding: 'utf8' });
  t.equal(line, `{ name = "ci-bot", token_hash = "${hashToken(TOKEN)}" }\n`);
  t.match(hashToken(TOKEN), /^sha256:[0-9a-f]{64}$/);
  const fromStdin = execFileSync(process.execPath, [CLI, 'hash-token', '--name', 'ops'], { input: `${OTHER}\n`, encoding: 'utf8' });
  t.equal(fromStdin, `{ name = "ops", token_hash = "${hashToken(OTHER)}" }\n`, 'the trailing newline is not part of the token');
  let code = 0;
  try {
    execFileSync(process.execPath, [CLI, 'hash-token', 'a', 'b'], { stdio: 'pipe' });
  } catch (err) {
    code = (err as { status: number }).status;
  }
  t.equal(code, 2, 'a stray argument is a usage error');
});

let d: Daemon;
let auditFile: string;
t.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-auth-'));
  auditFile = join(dir, 'audit.log');
  const entry = (name: string, token: string) => execFileSync(process.execPath, [CLI, 'hash-token', '--name', name, token], { encoding: 'utf8' }).trim();
  d = await startDaemon({
    dir,
    workers: 1,
    toml: `
[daemon.auth]
enabled = true
tokens = [
  ${entry('ci-bot', TOKEN)},
  ${entry('ops', OTHER)},
]

${LOCALHOST_TOML}
[groups]
g = ["localhost"]

[audit]
enabled = true
file = "${auditFile}"
`,
  });
});
t.teardown(() => d?.stop());

// Liveness/readiness probes stay public like /health (orchestrators call them
// without credentials); so do the dashboard's page and assets, which then ask
// for the token (the data behind them is not public).
const PUBLIC = new Set(['/health', '/livez', '/readyz', '/', '/ui/app.js', '/ui/app.css']);
const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });

t.test('/health, the probes and the dashboard page are public; everything else needs the token', async (t) => {
  const health = await d.get('/health');
  t.equal(health.status, 200);
  const spec = await d.get('/openapi.json', bearer(TOKEN));
  t.equal(spec.status, 200);
  const paths = spec.body.paths as Record<string, Record<string, unknown>>;
  let checked = 0;
  for (const [path, ops] of Object.entries(paths)) {
    for (const method of Object.keys(ops)) {
      const concrete = path.replace('{name}', 'localhost').replace('{id}', 'some-job');
      if (path === '/ws/events') continue; // the upgrade: its own test below
      if (PUBLIC.has(path)) {
        t.same((ops[method] as { security?: unknown[] }).security, [], `${path} is documented as public`);
        t.equal((await d.get(concrete)).status, 200, `${path} answers without a token`);
        continue;
      }
      t.same((ops[method] as { security?: unknown[] }).security, [{ bearer: [] }], `${method.toUpperCase()} ${path} is documented as needing the token`);
      const body = method === 'get' ? undefined : {};
      const none = await d.request(method.toUpperCase(), concrete, body);
      t.equal(none.status, 401, `${method.toUpperCase()} ${path} without a token`);
      t.equal(none.body?.code, 'UNAUTHORIZED');
      t.match(none.headers.get('www-authenticate'), /^Bearer realm="tendhost"/);
      const wrong = await d.request(method.toUpperCase(), concrete, body, { 'content-type': 'application/json', ...bearer(`${TOKEN}x`) });
      t.equal(wrong.status, 401, `${method.toUpperCase()} ${path} with a wrong token`);
      checked++;
    }
  }
  t.ok(checked >= 15, `${checked} operations checked`);
  for (const h of [{ authorization: TOKEN }, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }, { authorization: 'Bearer' }]) {
    t.equal((await d.get('/hosts', h)).status, 401, `"${h.authorization.slice(0, 12)}…" is not a bearer token`);
  }
  const ok = await d.get('/hosts/localhost', bearer(TOKEN));
  t.equal(ok.status, 200);
  t.equal(ok.body.name, 'localhost');
  t.equal((await d.get('/hosts/localhost', { authorization: `bearer   ${OTHER}` })).status, 200, 'scheme is case-insensitive');
  t.equal((await d.get(`/hosts/localhost?token=${TOKEN}`)).status, 200, '?token= works for browsers');
  t.equal((await d.get('/nope')).status, 404, 'an unknown route is still 404');
});

t.test("the token's name is the user in the request log and the audit line", async (t) => {
  const r = await d.request('POST', '/hosts', { name: 'by-ci', addr: '127.0.0.20' }, { 'content-type': 'application/json', ...bearer(TOKEN), 'x-request-id': 'auth-reg-1' });
  t.equal(r.status, 201);
  const del = await d.request('DELETE', '/hosts/by-ci', undefined, { ...bearer(OTHER), 'x-request-id': 'auth-del-1' });
  t.equal(del.status, 204);
  const denied = await d.request('DELETE', '/hosts/localhost', undefined, { ...bearer('nope'), 'x-request-id': 'auth-denied-1' });
  t.equal(denied.status, 401);
  // The log line may reach this process a moment after the response does.
  t.equal((await d.waitForLog((l) => l.msg === 'request' && l.req_id === 'auth-reg-1', 5000)).user, 'ci-bot');
  t.equal((await d.waitForLog((l) => l.msg === 'request' && l.req_id === 'auth-del-1', 5000)).user, 'ops');
  const lines = await until(() => {
    const all = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const ids = new Set(all.map((l: { request_id: string }) => l.request_id));
    return ['auth-reg-1', 'auth-del-1', 'auth-denied-1'].every((id) => ids.has(id)) ? all : null;
  }, 5_000);
  const byId = (id: string) => lines.find((l: { request_id: string }) => l.request_id === id);
  t.match(byId('auth-reg-1'), { action: 'host.register', host: 'by-ci', user: 'ci-bot', result: 'ok', source_ip: '127.0.0.1' });
  t.match(byId('auth-del-1'), { action: 'host.remove', host: 'by-ci', user: 'ops', result: 'ok' });
  t.match(byId('auth-denied-1'), { action: 'host.remove', host: 'localhost', user: null, result: 'UNAUTHORIZED' }, 'refused attempts are audited too');
  t.equal((await d.get('/hosts/localhost', bearer(TOKEN))).status, 200, 'the refused delete did nothing');
});

function wsOpen(url: string, opts: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<{ status: number; first?: any; protocol?: string }> {
  return new Promise((resolve) => {
    const ws = protocols ? new WebSocket(url, protocols, opts) : new WebSocket(url, opts);
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', () => resolve({ status: -1 }));
    ws.once('message', (m) => {
      resolve({ status: 101, first: JSON.parse(String(m)), protocol: ws.protocol });
      ws.close();
    });
  });
}

t.test('the WebSocket upgrade needs the token: header, subprotocol or ?token=', async (t) => {
  const url = `ws://127.0.0.1:${d.port}/ws/events`;
  t.equal((await wsOpen(url)).status, 401, 'no token');
  t.equal((await wsOpen(url, { headers: bearer('wrong') })).status, 401, 'wrong token');
  t.equal((await wsOpen(`${url}?token=wrong`)).status, 401, 'wrong ?token=');
  const header = await wsOpen(url, { headers: bearer(TOKEN) });
  t.equal(header.status, 101, 'Authorization header');
  t.equal(header.first.type, 'Snapshot');
  t.equal(header.first.hosts[0].name, 'localhost');
  const proto = await wsOpen(url, {}, [`bearer.${TOKEN}`]);
  t.equal(proto.status, 101, 'Sec-WebSocket-Protocol: bearer.<token>');
  t.equal(proto.protocol, `bearer.${TOKEN}`);
  const query = await wsOpen(`${url}?token=${OTHER}`);
  t.equal(query.status, 101, '?token=');
  t.equal(query.first.type, 'Snapshot');
});

t.test('with auth off, no token is needed; rate limiting answers 429 with Retry-After, never on /health', async (t) => {
  const open = await startDaemon({
    workers: 1,
    toml: `
[daemon.rate_limit]
enabled = true
per = "address"
rate_per_s = 0.5
burst = 5

[[host]]
name = "localhost"
addr = "localhost"
`,
  });
  t.teardown(() => open.stop());
  const first = await open.get('/hosts/localhost');
  t.equal(first.status, 200, 'auth is off: no token needed');
  const ws = await wsOpen(`ws://127.0.0.1:${open.port}/ws/events`);
  t.equal(ws.status, 101, 'nor for the WebSocket');
  const statuses: number[] = [];
  let limited: Awaited<ReturnType<typeof open.get>> | null = null;
  for (let i = 0; i < 10; i++) {
    const r = await open.get('/hosts/localhost');
    statuses.push(r.status);
    if (r.status === 429 && !limited) limited = r;
  }
  t.same(statuses.slice(0, 4), [200, 200, 200, 200], 'the rest of the burst passes');
  t.ok(statuses.slice(5).every((s) => s === 429), `then 429 (${statuses.join(',')})`);
  t.equal(limited?.body.code, 'RATE_LIMITED');
  const retry = Number(limited?.headers.get('retry-after'));
  t.ok(Number.isInteger(retry) && retry >= 1 && retry <= 2, `Retry-After: ${retry}`);
  const post = await open.request('POST', '/hosts', { name: 'x-1', addr: '127.0.0.21' });
  t.equal(post.status, 429, 'writes are limited too');
  t.equal((await open.get('/hosts/x-1')).status, 429);
  for (let i = 0; i < 50; i++) {
    const h = await open.get('/health');
    if (h.status !== 200) {
      t.fail(`/health answered ${h.status}`);
      break;
    }
  }
  t.pass('/health is never rate limited (50 in a row)');
  await new Promise((r) => setTimeout(r, 2100));
  t.equal((await open.get('/hosts/localhost')).status, 200, 'the bucket refills');
});
