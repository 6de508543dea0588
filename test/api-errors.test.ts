// One error table, checked against a real daemon on a simulated SSH fleet:
// every route is driven with bad params, queries, bodies, sizes, methods and
// tokens, and into the states that give its own errors (a busy host, a failed
// one, unreachable and refusing hosts, a finished job, a worker that hangs).
// Every answer must be one its OpenAPI entry lists (status, and the error code
// under that status), every error body `{code, message}` from the table, and
// an internal error must reach the client only as "internal error" and a
// request id while the log holds the exception with that id.
import type { Test } from 'tap';
import t from 'tap';
import WebSocket from 'ws';
import { hashToken } from '../src/http/auth.js';
import { shardOf } from '../src/pool/shard-of.js';
import { startDaemon, until, type Daemon } from '../harness/daemon.js';
import { startSimSetup, type SimSetup } from './helpers/sim-daemon.js';
import { METHODS, Recorder, concrete, offTable, undocumented, wrongValue, type Seen } from './helpers/error-probes.js';

const TOKEN = 'errors-test-token';
const BODY_LIMIT = 4096;
const WATCHDOG_S = 5;
const OK = 'sim-00001'; // healthy, shard 0
const REFUSED = 'sim-00002'; // nothing listens
const AUTH = 'sim-00003'; // refuses our key
const HANGS = 'sim-00004'; // package-manager commands never answer: stays busy
const SHARD0 = ['sim-00005', 'sim-00007']; // healthy, shard 0: the hung worker's hosts

let setup: SimSetup;
let d: Daemon;
let spec: any;
let rec: Recorder;

t.before(async () => {
  setup = await startSimSetup(
    { hosts: 8, mix: { debian: 100 }, faults: [`refused=${REFUSED}`, `auth=${AUTH}`, `timeout=${HANGS}`] },
    {
      workers: 2,
      daemon: `worker_watchdog_s = ${WATCHDOG_S}
[daemon.http]
body_limit_bytes = ${BODY_LIMIT}
[daemon.auth]
enabled = true
tokens = [{ name = "ci", token_hash = "${hashToken(TOKEN)}" }]`,
      operations: 'command_timeout_s = 600',
      toml: `[groups]\ng = ["${OK}"]\n`,
    },
  );
  d = await setup.start({ env: { TENDHOST_TEST_SWITCHES: 'freeze-worker' } });
  rec = new Recorder(d, TOKEN);
  spec = (await d.get('/openapi.json', { authorization: `Bearer ${TOKEN}` })).body;
});
t.teardown(() => setup?.stop());

// Param values per kind of probe ({name} is a group's name under /groups).
const GOOD = { name: OK, group: 'g', id: 'set-by-the-first-test' };
const MISSING = { name: 'no-such-host', group: 'no-such-group', id: 'no-such-job' };
const INVALID = { name: 'bad!name', group: 'x'.repeat(300), id: 'x'.repeat(65) };

t.test('bad params, queries, bodies, sizes and tokens: every answer is documented for its route', async (t) => {
  const json = 'application/json';
  // A real job to probe the job routes with: a rollout that selects no host ends at once.
  const job = await rec.call('POST /fleet/update', 'POST', '/fleet/update', 'an empty rollout', { body: '{"dry_run":true,"filter":{"tags":["none"]}}', contentType: json });
  t.equal(job.status, 202);
  GOOD.id = JSON.parse(job.text).job_id;
  for (const { op, method, path, o } of operationsOf(spec)) {
    const isGet = method === 'GET';
    const query = ((o.parameters ?? []) as any[]).filter((p) => p.in === 'query');
    const at = (v: typeof GOOD) => concrete(path, path.startsWith('/groups/') ? { ...v, name: v.group } : v);
    // Bodies that fail validation keep the probes free of side effects.
    const body = isGet ? {} : { body: '{"not_a_field":true}', contentType: json };
    if (path.includes('{')) {
      await rec.call(op, method, at(MISSING), 'unknown param', body);
      await rec.call(op, method, at(INVALID), 'invalid param', body);
    }
    await rec.call(op, method, `${at(GOOD)}?bogus=1`, 'unknown query field', body);
    for (const q of query) await rec.call(op, method, `${at(GOOD)}?${q.name}=${encodeURIComponent(wrongValue(q.schema))}`, `bad query ${q.name}`, body);
    if (o.security?.length) {
      await rec.call(op, method, at(GOOD), 'no token', { ...body, auth: null });
      await rec.call(op, method, at(GOOD), 'wrong token', { ...body, auth: `Bearer ${TOKEN}x` });
    }
    if (isGet) {
      await rec.call(op, method, at(GOOD), 'plain read');
      continue;
    }
    const big = `{"pad":"${'x'.repeat(BODY_LIMIT)}"}`;
    await rec.call(op, method, at(GOOD), 'body over the limit (content-length)', { body: big, contentType: json });
    await rec.call(op, method, at(GOOD), 'body over the limit (chunked)', { body: chunked(big), contentType: json });
    if (!o.requestBody) continue;
    await rec.call(op, method, at(GOOD), 'no content type', { body: new TextEncoder().encode('{}') });
    await rec.call(op, method, at(GOOD), 'text/plain', { body: '{}', contentType: 'text/plain' });
    await rec.call(op, method, at(GOOD), 'broken JSON', { body: '{"a":', contentType: json });
    await rec.call(op, method, at(GOOD), 'a JSON array', { body: '[]', contentType: json });
    await rec.call(op, method, at(GOOD), 'wrong types', { body: '{"name":1,"dry_run":"yes","batch_size":"x"}', contentType: json });
  }
  // Paths that match no route, and methods a path does not have.
  const paths = spec.paths as Record<string, object>;
  for (const [path, ops] of Object.entries(paths)) {
    if (path === '/ws/events') continue;
    const allowed = Object.keys(ops).filter((m) => METHODS.includes(m));
    for (const m of METHODS.filter((x) => !allowed.includes(x))) {
      const res = await fetch(d.url + concrete(path, GOOD), { method: m.toUpperCase(), headers: { authorization: `Bearer ${TOKEN}` } });
      const b = await res.json();
      t.equal(res.status, 405, `${m.toUpperCase()} ${path} is 405`);
      t.equal(b.code, 'METHOD_NOT_ALLOWED');
      t.same(res.headers.get('allow')?.split(', ').map((x) => x.toLowerCase()).sort(), allowed.sort(), `${path}: Allow lists the documented methods`);
    }
  }
  const none = await fetch(`${d.url}/no/such/route`);
  t.equal(none.status, 404);
  t.equal((await none.json()).code, 'ROUTE_NOT_FOUND');
  checkAll(t, rec.seen);
});

t.test('the states that give each route its own errors: all documented', async (t) => {
  const json = { contentType: 'application/json' };
  const post = (op: string, host: string, verb: string, body = '{}') => rec.call(op, 'POST', `/hosts/${host}/${verb}`, `${verb} ${host}`, { body, ...json });
  const UPDATE = 'POST /hosts/{name}/update';
  const REBOOT = 'POST /hosts/{name}/reboot';
  const RETRY = 'POST /hosts/{name}/retry';
  const ACK = 'POST /hosts/{name}/acknowledge';
  const INVENTORY = 'GET /hosts/{name}/inventory';

  t.equal((await rec.call('POST /hosts', 'POST', '/hosts', 'an existing name', { body: JSON.stringify({ name: OK, addr: '127.0.0.1' }), ...json })).code, 'HOST_EXISTS');
  t.equal((await rec.call('POST /hosts', 'POST', '/hosts', 'a new host', { body: JSON.stringify({ name: 'fresh-1', addr: '127.0.0.1', port: 1 }), ...json })).status, 201);
  t.equal((await rec.call('DELETE /hosts/{name}', 'DELETE', '/hosts/fresh-1', 'remove it')).status, 204);

  // Valid requests for what is not there (the generic probes' bodies fail validation first).
  t.equal((await post(UPDATE, 'no-such-host', 'update')).code, 'HOST_NOT_FOUND');
  t.equal((await post('POST /hosts/{name}/host-key/accept', 'no-such-host', 'host-key/accept')).code, 'HOST_NOT_FOUND');
  t.equal((await rec.call('POST /jobs/{id}/cancel', 'POST', '/jobs/no-such-job/cancel', 'cancel a job that is not there', { body: '{}', ...json })).code, 'JOB_NOT_FOUND');

  // A healthy idle host.
  t.equal((await rec.call(INVENTORY, 'GET', `/hosts/${OK}/inventory`, 'inventory of a healthy host')).status, 200);
  t.equal((await post(RETRY, OK, 'retry')).code, 'HOST_NOT_FAILED');
  t.equal((await post(ACK, OK, 'acknowledge')).code, 'HOST_NOT_FAILED');
  t.equal((await post(REBOOT, OK, 'reboot')).code, 'INVALID_HOST_STATE');
  t.equal((await post('POST /hosts/{name}/host-key/accept', OK, 'host-key/accept')).code, 'NOTHING_TO_ACCEPT');

  // Hosts that cannot be reached or refuse us.
  t.equal((await rec.call(INVENTORY, 'GET', `/hosts/${REFUSED}/inventory`, 'inventory, nothing listens')).code, 'SSH_CONNECTION_REFUSED');
  t.equal((await rec.call(INVENTORY, 'GET', `/hosts/${AUTH}/inventory?refresh=true`, 'inventory, key refused')).code, 'SSH_AUTH_FAILED');

  // A busy host.
  const busy = await post(UPDATE, HANGS, 'update', '{"dry_run":true}');
  t.equal(busy.status, 202);
  await until(async () => (await d.get(`/hosts/${HANGS}`, { authorization: `Bearer ${TOKEN}` })).body.state === 'querying');
  t.equal((await post(UPDATE, HANGS, 'update')).code, 'HOST_BUSY');
  t.equal((await post(REBOOT, HANGS, 'reboot')).code, 'HOST_BUSY');
  t.equal((await post(RETRY, HANGS, 'retry')).code, 'HOST_BUSY');
  t.equal((await rec.call('DELETE /hosts/{name}', 'DELETE', `/hosts/${HANGS}`, 'remove a busy host')).code, 'HOST_BUSY');
  t.equal((await rec.call('POST /jobs/{id}/cancel', 'POST', `/jobs/${JSON.parse(busy.text).job_id}/cancel`, 'cancel a running job', { body: '{}', ...json })).status, 200);

  // A failed host, its acknowledgement (a job done at once), and retry.
  t.equal((await post(UPDATE, REFUSED, 'update', '{"dry_run":true}')).status, 202);
  await until(async () => (await d.get(`/hosts/${REFUSED}`, { authorization: `Bearer ${TOKEN}` })).body.state === 'failed');
  t.equal((await post(UPDATE, REFUSED, 'update')).code, 'HOST_FAILED');
  t.equal((await post(REBOOT, REFUSED, 'reboot')).code, 'HOST_FAILED');
  const ack = await post(ACK, REFUSED, 'acknowledge');
  t.equal(ack.status, 202);
  const ackJob = JSON.parse(ack.text).job_id;
  t.equal((await rec.call('POST /jobs/{id}/cancel', 'POST', `/jobs/${ackJob}/cancel`, 'cancel a finished job', { body: '{}', ...json })).code, 'JOB_FINISHED');
  t.equal((await post(RETRY, REFUSED, 'retry')).status, 202);

  const fleet = await rec.call('POST /fleet/update', 'POST', '/fleet/update', 'a rollout that selects nothing', { body: '{"dry_run":true,"filter":{"tags":["no-such-tag"]}}', ...json });
  t.equal(fleet.status, 202);
  for (const path of ['/', '/ui/app.js', '/ui/app.css']) await rec.call(`GET ${path}`, 'GET', path, 'the dashboard (200, or 503 when not built)', { auth: null });

  // The WebSocket upgrade refuses with codes from the table too.
  t.equal((await rec.upgrade('?since=-1', 'a negative since', { authorization: `Bearer ${TOKEN}` })).code, 'VALIDATION_FAILED');
  t.equal((await rec.upgrade('?types=NoSuchEvent', 'an unknown event type', { authorization: `Bearer ${TOKEN}` })).code, 'VALIDATION_FAILED');
  t.equal((await rec.upgrade('', 'no token')).code, 'UNAUTHORIZED');
  t.equal((await rec.upgrade('', 'with the token', { authorization: `Bearer ${TOKEN}` })).status, 101);
  // And so does a connected client's refused message (the stream's Error message).
  const refused = await streamErrors(['not json', '{"type":"filter","bogus":1}', '{"type":"filter","types":["NoSuchEvent"]}', '{"type":"nope"}']);
  t.same(refused.map((m) => m.code), ['INVALID_JSON', 'VALIDATION_FAILED', 'VALIDATION_FAILED', 'VALIDATION_FAILED'], 'refused stream messages carry table codes');
  t.ok(refused.every((m) => m.type === 'Error' && typeof m.message === 'string' && Object.keys(m).length === 3), 'as {type: "Error", code, message}');
  checkAll(t, rec.seen);
});

t.test('a worker that hangs: the answers say what happened, never what the exception said', async (t) => {
  for (const n of [OK, ...SHARD0]) t.equal(shardOf(n, 2), 0, `${n} lives on shard 0`);
  d.proc.kill('SIGUSR2'); // the test switch: shard 0's worker blocks for good; the watchdog ends it
  await new Promise((r) => setTimeout(r, 500));
  const json = { body: '{}', contentType: 'application/json' };
  const [removed, inventory, update] = await Promise.all([
    rec.call('DELETE /hosts/{name}', 'DELETE', `/hosts/${SHARD0[0]}`, 'remove a host of the hung shard'),
    rec.call('GET /hosts/{name}/inventory', 'GET', `/hosts/${SHARD0[1]}/inventory?refresh=true`, 'inventory on the hung shard'),
    rec.call('POST /hosts/{name}/update', 'POST', `/hosts/${OK}/update`, 'update on the hung shard', json),
  ]);
  t.equal(removed.status, 500, 'removing a host whose worker died mid-task is an internal error');
  t.equal(removed.code, 'INTERNAL');
  const body = JSON.parse(removed.text);
  t.equal(body.details?.request_id, removed.requestId, 'the body carries the request id');
  t.match(body.message, /^internal error; the daemon log has the details under request id /, 'and says only that an internal error happened');
  for (const r of [inventory, update]) t.equal(r.code, 'WORKER_UNAVAILABLE', `${r.what}: WORKER_UNAVAILABLE`);

  for (const r of [removed, inventory, update]) {
    const line = await d.waitForLog((l) => l.msg === 'request failed' && l.req_id === r.requestId, 5000);
    const cause = String(line.cause ?? (line.err as { message?: string }).message ?? '');
    t.ok(cause.length > 0, `${r.what}: the log has the exception under the request id (${cause})`);
    t.notOk(r.text.includes(cause), `${r.what}: the body does not carry it`);
    t.ok(typeof line.stack === 'string' && line.stack.length > 0, 'and its stack');
  }
  await d.waitForLog((l) => l.msg === 'shard re-attached', 30_000);
  checkAll(t, rec.seen);
  const triples = [...new Set(rec.seen.map((s) => `${s.op} ${s.status} ${s.code ?? ''}`))].sort();
  t.comment(`${rec.seen.length} answers, ${triples.length} distinct (route, status, code):\n${triples.join('\n')}`);
});

t.test('with rate limiting on, RATE_LIMITED is documented where it is answered', async (t) => {
  const r = await startDaemon({
    workers: 1,
    toml: '[[host]]\nname = "h1"\naddr = "127.0.0.1"\nport = 1\n',
    daemon: '[daemon.rate_limit]\nenabled = true\nper = "address"\nrate_per_s = 0.001\nburst = 1',
  });
  t.teardown(() => r.stop());
  const limited = new Recorder(r, null);
  const doc = (await r.get('/openapi.json')).body; // the one request the bucket allows
  for (const { op, method, path } of operationsOf(doc)) {
    await limited.call(op, method, concrete(path, { name: 'h1', id: 'j' }), 'after the burst', method === 'GET' ? {} : { body: '{}', contentType: 'application/json' });
  }
  const codes = new Set(limited.seen.filter((s) => s.status === 429).map((s) => s.code));
  t.same([...codes], ['RATE_LIMITED'], '429s are RATE_LIMITED');
  t.ok(limited.seen.filter((s) => s.status === 429).length >= 15, 'every guarded route was limited');
  t.equal(limited.seen.find((s) => s.op === 'GET /health')?.status, 200, 'public routes are not limited');
  t.same(undocumented(doc, limited.seen), [], 'every answer is documented');
  t.notOk(JSON.stringify(spec.paths).includes('RATE_LIMITED'), 'and the first daemon, without rate limiting, lists it nowhere');
});

/** Every documented operation but the WebSocket upgrade. */
function operationsOf(doc: any): Array<{ op: string; method: string; path: string; o: any }> {
  const out = [];
  for (const [path, ops] of Object.entries<any>(doc.paths)) {
    for (const [m, o] of Object.entries<any>(ops)) {
      if (METHODS.includes(m) && path !== '/ws/events') out.push({ op: `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path, o });
    }
  }
  return out;
}

function checkAll(t: Test, seen: readonly Seen[]): void {
  t.same(undocumented(spec, seen), [], `each of ${seen.length} answers is one its route documents`);
  t.same(offTable(seen), [], 'every error body is {code, message} with the status of its code');
  const internal = seen.filter((s) => s.code === 'INTERNAL' && !/^\{"code":"INTERNAL","message":"internal error; the daemon log has the details under request id [^"]+","details":\{"request_id":"[^"]+"\}\}$/.test(s.text));
  t.same(internal.map((s) => s.what), [], 'an INTERNAL body never says more than that');
}

function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(sent, sent + 1024));
      sent += 1024;
    },
  });
}

/** The Error messages a connected client gets back for each of `messages`. */
async function streamErrors(messages: string[]): Promise<Array<{ type: string; code: string; message: string }>> {
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const errors: Array<{ type: string; code: string; message: string }> = [];
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m));
    if (msg.type === 'Error') errors.push(msg);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  for (const m of messages) ws.send(m);
  await until(() => errors.length === messages.length, 5000);
  ws.close();
  return errors;
}
