// Every REST endpoint as a client sees it: success and error paths, the
// answers to bad input (never a 5xx, never a side effect), a body limit
// enforced while streaming, clients that vanish mid-request, and one update
// followed end to end by its request id.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startDaemon, until, type Daemon } from '../harness/daemon.js';

const keyDir = mkdtempSync(join(tmpdir(), 'tendhost-api-key-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);

let d: Daemon;
let auditFile: string;
t.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-api-'));
  auditFile = join(dir, 'audit.log');
  d = await startDaemon({
    dir,
    workers: 2,
    toml: `
[daemon.http]
body_limit_bytes = 4096

[daemon.ssh]
connect_timeout_s = 3

[[host]]
name = "localhost"
addr = "localhost"
tags = ["local", "linux"]
[host.policy]
auto_reboot = false

[[host]]
name = "dead"
addr = "127.0.0.1"
port = 1
ssh_key = "${join(keyDir, 'id')}"
tags = ["linux"]

[groups]
web = ["localhost", "dead"]
nobody = []

[audit]
enabled = true
file = "${auditFile}"
`,
  });
});
t.teardown(() => d?.stop());

const json = { 'content-type': 'application/json' };
const auditLines = () =>
  readFileSync(auditFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

async function counts(): Promise<{ hosts: number; jobs: number }> {
  const h = await d.get('/hosts?per_page=1');
  const j = await d.get('/jobs?per_page=1');
  return { hosts: h.body.pagination.total_items, jobs: j.body.pagination.total_items };
}

t.test('POST /hosts registers a host (201), refuses a duplicate (409)', async (t) => {
  const before = await counts();
  const r = await d.request('POST', '/hosts', { name: 'web-01.example', addr: '127.0.0.9', port: 2222, tags: ['new'] });
  t.equal(r.status, 201);
  t.equal(r.body.name, 'web-01.example');
  t.equal(r.body.addr, '127.0.0.9');
  t.equal(r.body.state, 'idle');
  t.same(r.body.tags, ['new']);
  const got = await d.get('/hosts/web-01.example');
  t.equal(got.status, 200);
  t.equal(got.body.state, 'idle');
  t.equal((await counts()).hosts, before.hosts + 1);

  const dup = await d.request('POST', '/hosts', { name: 'web-01.example', addr: '127.0.0.10' });
  t.equal(dup.status, 409);
  t.equal(dup.body.code, 'HOST_EXISTS');
  const dupConfig = await d.request('POST', '/hosts', { name: 'localhost', addr: '127.0.0.10' });
  t.equal(dupConfig.body.code, 'HOST_EXISTS', 'a host from the config file counts too');
  t.equal((await d.get('/hosts/web-01.example')).body.addr, '127.0.0.9', 'the duplicate changed nothing');
});

t.test('POST /hosts refuses bad bodies with 400 naming the field, and leaves nothing behind', async (t) => {
  const before = await counts();
  const cases: Array<[string, unknown, string]> = [
    ['name starting with a dash', { name: '-web', addr: 'a' }, 'name'],
    ['name starting with a dot', { name: '.web', addr: 'a' }, 'name'],
    ['name with a space', { name: 'web 1', addr: 'a' }, 'name'],
    ['name with a slash', { name: 'web/1', addr: 'a' }, 'name'],
    ['non-ASCII name', { name: 'wéb', addr: 'a' }, 'name'],
    ['empty name', { name: '', addr: 'a' }, 'name'],
    ['254-character name', { name: 'a'.repeat(254), addr: 'a' }, 'name'],
    ['unknown field', { name: 'ok-1', addr: 'a', colour: 'red' }, 'colour'],
    ['port as a string', { name: 'ok-1', addr: 'a', port: '22' }, 'port'],
    ['port out of range', { name: 'ok-1', addr: 'a', port: 70000 }, 'port'],
    ['port not an integer', { name: 'ok-1', addr: 'a', port: 22.5 }, 'port'],
    ['tags not an array', { name: 'ok-1', addr: 'a', tags: 'x' }, 'tags'],
    ['addr a number', { name: 'ok-1', addr: 5 }, 'addr'],
    ['missing addr', { name: 'ok-1' }, 'addr'],
    ['missing name', { addr: 'a' }, 'name'],
    ['nested unknown field', { name: 'ok-1', addr: 'a', policy: { auto_reboot: true, colour: 1 } }, 'policy.colour'],
    ['huge number', { name: 'ok-1', addr: 'a', port: 1e308 }, 'port'],
    ['several unknown fields', { name: 'ok-1', addr: 'a', colour: 'red', size: 3 }, 'colour'],
    ['addr with a shell command', { name: 'ok-1', addr: '127.0.0.1;id' }, 'addr'],
    ['addr with a space', { name: 'ok-1', addr: 'web 1' }, 'addr'],
    ['addr a malformed IPv4', { name: 'ok-1', addr: '300.1.1.1' }, 'addr'],
    ['verify_command is the config file’s only', { name: 'ok-1', addr: 'a', policy: { verify_command: 'id' } }, 'policy.verify_command'],
  ];
  for (const [what, body, field] of cases) {
    const r = await d.request('POST', '/hosts', body);
    t.equal(r.status, 400, `${what}: 400`);
    t.equal(r.body.code, 'VALIDATION_FAILED', `${what}: VALIDATION_FAILED`);
    t.equal(r.body.details?.field, field, `${what}: names "${field}"`);
    t.match(r.body.message, field.split('.').pop() as string, `${what}: message names the field`);
  }
  const longest = await d.request('POST', '/hosts', { name: `b${'x'.repeat(252)}`, addr: '127.0.0.11' });
  t.equal(longest.status, 201, 'a 253-character name is fine');
  t.equal((await d.request('DELETE', `/hosts/b${'x'.repeat(252)}`)).status, 204);

  for (const [what, raw] of [['an array', '[]'], ['null', 'null'], ['a string', '"x"'], ['a number', '42']]) {
    const r = await d.request('POST', '/hosts', raw);
    t.equal(r.status, 400, `a body that is ${what}: 400`);
    t.match(r.body.message, /must be a JSON object/);
  }
  const after = await counts();
  t.same(after, before, 'no host and no job came of any rejected request');
});

t.test('DELETE /hosts/:name removes a host (204); it is gone everywhere', async (t) => {
  t.equal((await d.request('POST', '/hosts', { name: 'tmp-1', addr: '127.0.0.12', tags: ['tmp'] })).status, 201);
  const del = await d.request('DELETE', '/hosts/tmp-1');
  t.equal(del.status, 204);
  t.equal(del.text, '');
  const gone = await d.get('/hosts/tmp-1');
  t.equal(gone.status, 404);
  t.equal(gone.body.code, 'HOST_NOT_FOUND');
  const list = await d.get('/hosts?per_page=200');
  t.notOk(list.body.data.some((h: { name: string }) => h.name === 'tmp-1'), 'not in GET /hosts');
  t.notOk((await d.get('/tags')).body.data.some((x: { tag: string }) => x.tag === 'tmp'), 'its tag is gone from /tags');
  const again = await d.request('DELETE', '/hosts/tmp-1');
  t.equal(again.status, 404);
  t.equal(again.body.code, 'HOST_NOT_FOUND');
  const bad = await d.request('DELETE', '/hosts/tmp-1?force=perhaps');
  t.equal(bad.status, 400);
  t.equal(bad.body.details.field, 'force');
});

t.test('DELETE of a busy host is 409 HOST_BUSY unless ?force=true', async (t) => {
  t.equal((await d.request('POST', '/hosts', { name: 'local-2', addr: 'localhost', policy: { auto_reboot: false } })).status, 201);
  const up = await d.request('POST', '/hosts/local-2/update', { dry_run: true });
  t.equal(up.status, 202);
  const busy = await d.request('DELETE', '/hosts/local-2');
  t.equal(busy.status, 409);
  t.equal(busy.body.code, 'HOST_BUSY');
  t.equal((await d.get('/hosts/local-2')).status, 200, 'still there');
  const forced = await d.request('DELETE', '/hosts/local-2?force=true');
  t.equal(forced.status, 204);
  t.equal((await d.get('/hosts/local-2')).status, 404, 'gone after a forced delete');
});

t.test('a failed host: retry/acknowledge are 409 HOST_NOT_FAILED until it fails, then work', async (t) => {
  for (const action of ['retry', 'acknowledge']) {
    const r = await d.request('POST', `/hosts/dead/${action}`);
    t.equal(r.status, 409, `${action} on an idle host`);
    t.equal(r.body.code, 'HOST_NOT_FAILED');
  }
  const up = await d.request('POST', '/hosts/dead/update', {});
  t.equal(up.status, 202);
  const failed = await until(async () => {
    const h = await d.get('/hosts/dead');
    return h.body.state === 'failed' ? h.body : null;
  });
  t.equal(failed.failed.code, 'SSH_CONNECTION_REFUSED', 'nothing listens on 127.0.0.1:1');
  t.equal(failed.failed.acknowledged, false);
  const job = await until(async () => {
    const j = await d.get(`/jobs/${up.body.job_id}`);
    return j.body.state !== 'running' ? j.body : null;
  });
  t.equal(job.state, 'failed');
  t.equal((await d.get(`/jobs/${up.body.job_id}/hosts`)).body.data[0].code, 'SSH_CONNECTION_REFUSED');

  const again = await d.request('POST', '/hosts/dead/update', {});
  t.equal(again.status, 409, 'a failed host refuses an update');
  t.equal(again.body.code, 'HOST_FAILED');

  const ack = await d.request('POST', '/hosts/dead/acknowledge');
  t.equal(ack.status, 202);
  t.type(ack.body.job_id, 'string');
  const acked = await d.get('/hosts/dead');
  t.equal(acked.body.state, 'failed', 'acknowledging leaves it failed');
  t.equal(acked.body.failed.acknowledged, true);

  const retry = await d.request('POST', '/hosts/dead/retry', {});
  t.equal(retry.status, 202);
  t.equal((await d.get(`/jobs/${retry.body.job_id}`)).body.state, 'succeeded');
  t.equal((await d.get('/hosts/dead')).body.state, 'idle', 'retry goes back to idle');
  t.equal((await d.request('POST', '/hosts/dead/retry')).body.code, 'HOST_NOT_FAILED');
});

t.test('update and reboot: 202 or the right refusal', async (t) => {
  const reboot = await d.request('POST', '/hosts/localhost/reboot');
  t.equal(reboot.status, 409, 'an idle host has no reboot to do');
  t.match(reboot.body.message, /idle/);
  const missing = await d.request('POST', '/hosts/no-such-host/update', { dry_run: true });
  t.equal(missing.status, 404);
  t.equal(missing.body.code, 'HOST_NOT_FOUND');
  const badType = await d.request('POST', '/hosts/localhost/update', { dry_run: 'yes' });
  t.equal(badType.status, 400);
  t.equal(badType.body.details.field, 'dry_run');
  const unknown = await d.request('POST', '/hosts/localhost/update', { dryrun: true });
  t.equal(unknown.status, 400);
  t.match(unknown.body.message, /did you mean "dry_run"/);
  const badName = await d.request('POST', '/hosts/-bad/update', { dry_run: true });
  t.equal(badName.status, 400);
  t.equal(badName.body.details.in, 'path');
  const rebootBody = await d.request('POST', '/hosts/localhost/reboot', { now: true });
  t.equal(rebootBody.status, 400, 'reboot takes an empty body');
});

t.test('GET /groups, /groups/:name (paginated), /tags', async (t) => {
  const groups = await d.get('/groups');
  t.equal(groups.status, 200);
  t.same(groups.body.data, [
    { name: 'nobody', hosts: 0 },
    { name: 'web', hosts: 2 },
  ]);
  const p1 = await d.get('/groups/web?per_page=1');
  t.same(p1.body.pagination, { page: 1, per_page: 1, total_items: 2, total_pages: 2 });
  t.equal(p1.body.data[0].name, 'dead');
  const p2 = await d.get('/groups/web?per_page=1&page=2');
  t.equal(p2.body.data[0].name, 'localhost');
  const empty = await d.get('/groups/nobody');
  t.same(empty.body.data, []);
  const missing = await d.get('/groups/nope');
  t.equal(missing.status, 404);
  t.equal(missing.body.code, 'GROUP_NOT_FOUND');
  const badPage = await d.get('/groups/web?per_page=0');
  t.equal(badPage.status, 400);
  t.equal(badPage.body.details.field, 'per_page');

  const tags = await d.get('/tags');
  t.equal(tags.status, 200);
  const byTag = Object.fromEntries(tags.body.data.map((x: { tag: string; hosts: number }) => [x.tag, x.hosts]));
  t.equal(byTag.linux, 2);
  t.equal(byTag.local, 1);
  t.equal(byTag.new, 1, 'the registered host is counted');
});

t.test('GET /jobs (paginated, by host and state), /jobs/:id, cancel', async (t) => {
  const forDead = await d.get('/jobs?host=dead');
  t.equal(forDead.status, 200);
  t.ok(forDead.body.data.length >= 3, 'update, acknowledge, retry');
  for (const j of forDead.body.data) {
    const hosts = await d.get(`/jobs/${j.id}/hosts`);
    t.same(hosts.body.data.map((h: { host: string }) => h.host), ['dead'], `job ${j.kind} is about host dead`);
    t.equal(j.summary.total, 1);
  }
  const failed = await d.get('/jobs?host=dead&state=failed');
  t.equal(failed.body.data.length, 1);
  t.equal(failed.body.data[0].kind, 'update');
  const page = await d.get('/jobs?per_page=1&page=2');
  t.equal(page.body.data.length, 1);
  t.equal(page.body.pagination.per_page, 1);
  t.ok(page.body.pagination.total_pages >= 3);
  t.equal((await d.get('/jobs?state=exploded')).status, 400);
  t.equal((await d.get('/jobs?host=-x')).status, 400);

  const job = await d.get(`/jobs/${failed.body.data[0].id}`);
  t.equal(job.status, 200);
  t.equal(job.body.id, failed.body.data[0].id);
  t.type(job.body.finished_at, 'string');
  t.equal(job.body.hosts, undefined, 'a job reads as its counts; its hosts are paged');
  t.match(job.body.summary, { total: 1, failed: 1, completed: 0 });
  const missing = await d.get('/jobs/no-such-job');
  t.equal(missing.status, 404);
  t.equal(missing.body.code, 'JOB_NOT_FOUND');
  const missingHosts = await d.get('/jobs/no-such-job/hosts');
  t.equal(missingHosts.status, 404);
  t.equal(missingHosts.body.code, 'JOB_NOT_FOUND');
  const badState = await d.get(`/jobs/${job.body.id}/hosts?state=exploded`);
  t.equal(badState.status, 400);
  t.equal(badState.body.code, 'VALIDATION_FAILED');
  t.equal((await d.get(`/jobs/${job.body.id}/hosts?per_page=201`)).status, 400, 'pages hold at most 200 hosts');
  t.same((await d.get(`/jobs/${job.body.id}/hosts?state=failed`)).body.data.map((h: { host: string }) => h.host), ['dead']);
  const finished = await d.request('POST', `/jobs/${job.body.id}/cancel`);
  t.equal(finished.status, 409);
  t.equal(finished.body.code, 'JOB_FINISHED');
  const cancelMissing = await d.request('POST', '/jobs/no-such-job/cancel');
  t.equal(cancelMissing.status, 404);

  const run = await d.request('POST', '/hosts/localhost/update', { dry_run: true });
  t.equal(run.status, 202);
  const cancel = await d.request('POST', `/jobs/${run.body.job_id}/cancel`);
  t.equal(cancel.status, 200, 'a running job can be cancelled');
  t.equal(cancel.body.id, run.body.job_id);
  const ended = await until(async () => {
    const j = await d.get(`/jobs/${run.body.job_id}`);
    return j.body.state !== 'running' ? j.body : null;
  }, 60_000);
  t.equal(ended.state, 'cancelled', 'the running operation finished; the job ends cancelled');
  await until(async () => (await d.get('/hosts/localhost')).body.job_id === null, 30_000);
});

t.test('bad requests: 400 INVALID_JSON, 415, 413, 404, 405 — never a 5xx', async (t) => {
  const before = await counts();
  const bad = await d.request('POST', '/hosts', '{"name": "x", "addr": ');
  t.equal(bad.status, 400);
  t.equal(bad.body.code, 'INVALID_JSON');
  const text = await d.request('POST', '/hosts', 'name=x', { 'content-type': 'text/plain' });
  t.equal(text.status, 415);
  t.equal(text.body.code, 'UNSUPPORTED_MEDIA_TYPE');
  const form = await d.request('POST', '/hosts/localhost/update', 'dry_run=1', { 'content-type': 'application/x-www-form-urlencoded' });
  t.equal(form.status, 415);
  const big = await d.request('POST', '/hosts', { name: 'big', addr: 'a', tags: ['x'.repeat(5000)] });
  t.equal(big.status, 413, 'content-length over body_limit_bytes');
  t.equal(big.body.code, 'PAYLOAD_TOO_LARGE');
  const route = await d.get('/nothing/here');
  t.equal(route.status, 404);
  t.equal(route.body.code, 'ROUTE_NOT_FOUND');
  const method = await d.request('PUT', '/hosts/localhost', {});
  t.equal(method.status, 405);
  t.equal(method.body.code, 'METHOD_NOT_ALLOWED');
  t.match(method.headers.get('allow'), /GET/);
  t.match(method.headers.get('allow'), /DELETE/);
  const patch = await d.request('PATCH', '/jobs', {});
  t.equal(patch.status, 405);
  t.same(await counts(), before, 'no side effects');
});

t.test('a chunked body over the limit is refused while it streams', async (t) => {
  const before = await counts();
  const result = await new Promise<{ status: number; body: string; sentBytes: number }>((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: d.port,
      method: 'POST',
      path: '/hosts',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    let sent = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sentBytes: sent }));
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    // Stream 1 KiB chunks without ever ending the body; the daemon must answer before the end.
    const pump = () => {
      if (answered || sent > 64 * 1024) return;
      const chunk = '{"x":"' + 'y'.repeat(1000) + '",';
      sent += chunk.length;
      req.write(chunk, () => setTimeout(pump, 5));
    };
    pump();
  });
  t.equal(result.status, 413);
  t.equal(JSON.parse(result.body).code, 'PAYLOAD_TOO_LARGE');
  t.ok(result.sentBytes < 64 * 1024, `answered after ${result.sentBytes} bytes, before the body ended`);
  t.same(await counts(), before);
});

t.test('clients that disconnect mid-request do not hurt the daemon', async (t) => {
  const before = await counts();
  const once = (i: number) =>
    new Promise<void>((resolve) => {
      const s = connect(d.port, '127.0.0.1', () => {
        const body = JSON.stringify({ name: `half-${i}`, addr: '127.0.0.13' });
        const head =
          i % 3 === 0
            ? `POST /hosts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n10\r\n${body.slice(0, 16)}\r\n`
            : `POST /hosts${i % 3 === 1 ? '/localhost/update' : ''} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, body.length >> 1)}`;
        s.write(head, () => setTimeout(() => s.destroy(), i % 5));
      });
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
  for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 20 }, (_, i) => once(round * 20 + i)));
  // Half a header, then gone.
  await new Promise<void>((resolve) => {
    const s = connect(d.port, '127.0.0.1', () => s.end('GET /hosts/loc', () => s.destroy()));
    s.on('error', () => {});
    s.on('close', () => resolve());
  });
  const health = await d.get('/health');
  t.equal(health.status, 200, 'still answering after 200 abandoned requests');
  t.equal(d.proc.exitCode, null, 'still running');
  t.same(await counts(), before, 'no half-sent request registered a host or started a job');
  t.equal((await d.get('/hosts/half-1')).status, 404);
});

t.test('one update followed end to end by its request id', async (t) => {
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events?hosts=localhost`);
  const events: any[] = [];
  ws.on('message', (m) => events.push(JSON.parse(String(m))));
  await new Promise((r) => ws.once('open', r));
  await until(() => events.some((e) => e.type === 'Snapshot'));

  const rid = 'trace-e2e.0042';
  const r = await d.request('POST', '/hosts/localhost/update', { dry_run: true }, { ...json, 'x-request-id': rid });
  t.equal(r.status, 202);
  t.equal(r.headers.get('x-request-id'), rid, 'response header echoes it');
  const jobId = r.body.job_id;
  const job = await until(async () => {
    const j = await d.get(`/jobs/${jobId}`);
    return j.body.state !== 'running' ? j.body : null;
  }, 60_000);
  t.equal(job.request_id, rid, 'the job');
  t.equal(job.state, 'succeeded');

  await until(() => events.some((e) => e.type === 'HostStateChanged' && e.to === 'idle' && e.job_id === jobId), 10_000);
  const mine = events.filter((e) => e.job_id === jobId);
  t.ok(mine.length >= 2, `${mine.length} events of this job`);
  t.ok(mine.every((e) => e.request_id === rid), 'every event of the job carries the request id');
  t.ok(mine.some((e) => e.type === 'HostStateChanged' && e.from === 'idle' && e.to === 'querying'));

  const reqLine = d.logs.find((l) => l.msg === 'request' && l.req_id === rid);
  t.ok(reqLine, 'the request log line');
  t.equal(reqLine?.status, 202);
  // The worker's log lines travel apart from the events: wait for the last one.
  await d.waitForLog((l) => l.msg === 'operation finished' && l.job_id === jobId, 10_000).catch(() => null);
  const workerLines = d.logs.filter((l) => l.request_id === rid && l.host === 'localhost');
  t.ok(workerLines.some((l) => l.msg === 'operation started' && l.job_id === jobId), "the worker's log line for the operation start");
  t.ok(workerLines.some((l) => l.msg === 'operation finished' && l.job_id === jobId), 'and its end');
  t.ok(workerLines.every((l) => typeof l.shard === 'number'), 'they come from a shard');

  await until(() => auditLines().filter((a) => a.request_id === rid).length >= 3, 5_000);
  const audit = auditLines().filter((a) => a.request_id === rid);
  t.same(audit.map((a) => a.action), ['host.update', 'update.started', 'update.finished']);
  t.ok(audit.every((a) => a.job_id === jobId && a.host === 'localhost'));
  t.equal(audit[0].source_ip, '127.0.0.1');

  const insane = await d.request('POST', '/hosts/localhost/update', { dry_run: 'no' }, { ...json, 'x-request-id': 'has spaces and ; semicolons' });
  const generated = insane.headers.get('x-request-id') ?? '';
  t.not(generated, 'has spaces and ; semicolons', 'an insane id is replaced');
  t.match(generated, /^[0-9a-f-]{36}$/, 'by a generated one');
  const long = await d.get('/health', { 'x-request-id': 'x'.repeat(129) });
  t.not(long.headers.get('x-request-id'), 'x'.repeat(129), 'too long is replaced too');
  ws.close();
});
