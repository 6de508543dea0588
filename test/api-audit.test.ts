// The audit trail: one JSON line per state-changing request and per actor
// action in the audit file, none lost on SIGTERM right after a burst, the
// same lines at a webhook, a dead webhook that never slows requests, and the
// sinks (webhook queue/backoff, syslog transports) on their own.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LOCALHOST_TOML, startDaemon, until, type Daemon } from '../harness/daemon.js';
import { WebhookSink } from '../src/audit/webhook.js';
import { SyslogSink, rfc5424 } from '../src/audit/syslog.js';
import { attachActorAudit } from '../src/audit/actor-audit.js';
import { AuditLog, type AuditRecord } from '../src/audit/audit-log.js';
import { RequestOrderedAudit } from '../src/audit/request-order.js';
import { Broadcaster } from '../src/events/broadcaster.js';
import { JobStore } from '../src/jobs/job-store.js';
import { ReadModel } from '../src/state/read-model.js';
import { Recovery } from '../src/app/recovery.js';
import type { Lifecycle } from '../common/host-machine.js';
import type { PortMessage } from '../common/thread-protocol.js';
import type { HostStatus } from '../common/schemas/host.js';
import { hostStatus } from './helpers/host-status.js';

const KEYS = ['timestamp', 'action', 'host', 'user', 'source_ip', 'result', 'job_id', 'request_id'];
const quiet = pino({ level: 'silent' });

function readAudit(file: string): any[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** A loopback webhook receiver that records every NDJSON line. */
async function receiver(failFirst = 0): Promise<{ url: string; lines: any[]; posts: number; close(): Promise<void> }> {
  const state = { lines: [] as any[], posts: 0 };
  const server = createHttpServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      state.posts++;
      if (state.posts <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      for (const l of body.split('\n').filter(Boolean)) state.lines.push(JSON.parse(l));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/audit`,
    get lines() {
      return state.lines;
    },
    get posts() {
      return state.posts;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const keyDir = mkdtempSync(join(tmpdir(), 'tendhost-audit-key-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);

t.test('every action is one audit line in the file and at the webhook; SIGTERM loses none', async (t) => {
  const hook = await receiver();
  t.teardown(() => hook.close());
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-audit-'));
  const file = join(dir, 'audit.log');
  const d: Daemon = await startDaemon({
    dir,
    workers: 2,
    toml: `
[daemon.ssh]
connect_timeout_s = 3

${LOCALHOST_TOML}
[[host]]
name = "dead"
addr = "127.0.0.1"
port = 1
ssh_key = "${join(keyDir, 'id')}"

[audit]
enabled = true
file = "${file}"
webhook = "${hook.url}"
`,
  });
  const h = { 'content-type': 'application/json' };
  const req = (method: string, path: string, id: string, body?: unknown) => d.request(method, path, body, { ...h, 'x-request-id': id });

  t.equal((await req('POST', '/hosts', 'a-reg', { name: 'aud-1', addr: '127.0.0.30' })).status, 201);
  t.equal((await req('POST', '/hosts', 'a-reg-dup', { name: 'aud-1', addr: '127.0.0.30' })).status, 409);
  const up = await req('POST', '/hosts/localhost/update', 'a-up', { dry_run: true });
  t.equal(up.status, 202);
  const fail = await req('POST', '/hosts/dead/update', 'a-fail', {});
  t.equal(fail.status, 202);
  await until(async () => (await d.get('/hosts/dead')).body.state === 'failed');
  t.equal((await req('POST', '/hosts/dead/acknowledge', 'a-ack')).status, 202);
  t.equal((await req('POST', '/hosts/dead/retry', 'a-retry')).status, 202);
  t.equal((await req('DELETE', '/hosts/aud-1', 'a-del')).status, 204);
  await until(async () => (await d.get(`/jobs/${up.body.job_id}`)).body.state === 'succeeded', 60_000);
  // Lines are written after each answer, so the last request's line may land after the update's end.
  await until(() => {
    const ls = readAudit(file);
    return ls.some((l) => l.request_id === 'a-up' && l.action === 'update.finished') && ls.some((l) => l.request_id === 'a-del');
  }, 5_000);

  const lines = readAudit(file);
  for (const l of lines) t.same(Object.keys(l).slice(0, KEYS.length), KEYS, `${l.action}: every key, in order`);
  const by = (id: string) => lines.filter((l) => l.request_id === id);
  t.match(by('a-reg'), [{ action: 'host.register', host: 'aud-1', result: 'ok', source_ip: '127.0.0.1', job_id: null }]);
  t.match(by('a-reg-dup'), [{ action: 'host.register', host: 'aud-1', result: 'HOST_EXISTS' }], 'a refused request is audited with its code');
  t.match(by('a-up'), [
    { action: 'host.update', host: 'localhost', result: 'ok', job_id: up.body.job_id },
    { action: 'update.started', host: 'localhost', result: 'ok', job_id: up.body.job_id, details: { dry_run: true } },
    { action: 'update.finished', host: 'localhost', result: 'ok', job_id: up.body.job_id, details: { dry_run: true } },
  ]);
  t.match(by('a-fail'), [
    { action: 'host.update', host: 'dead', result: 'ok', job_id: fail.body.job_id },
    { action: 'update.started', host: 'dead', job_id: fail.body.job_id },
    { action: 'update.finished', host: 'dead', result: 'SSH_CONNECTION_REFUSED', job_id: fail.body.job_id },
  ], 'a failed update ends with its error code');
  t.match(by('a-ack'), [{ action: 'host.acknowledge', host: 'dead', result: 'ok' }]);
  t.match(by('a-retry'), [{ action: 'host.retry', host: 'dead', result: 'ok' }]);
  t.match(by('a-del'), [{ action: 'host.remove', host: 'aud-1', result: 'ok' }]);
  t.notOk(lines.some((l) => l.action.startsWith('get')), 'reads are not audited');

  // A burst, then SIGTERM at once: every answered request has its line after shutdown.
  const before = readAudit(file).length;
  const burst = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      i % 2 === 0
        ? d.request('POST', '/hosts', { name: `burst-${i}`, addr: '127.0.0.31' })
        : d.request('POST', '/hosts/localhost/retry'),
    ),
  );
  t.ok(burst.every((r) => r.status === 201 || r.status === 409), 'the burst was answered');
  const code = await d.stop('SIGTERM');
  t.equal(code, 0);
  const after = readAudit(file);
  t.equal(after.length - before, 60, 'one line per request of the burst, none lost on shutdown');
  t.equal(after.filter((l) => l.action === 'host.register' && /^burst-/.test(l.host)).length, 30);
  await until(() => hook.lines.length >= after.length, 5_000).catch(() => null);
  t.same(hook.lines, after, 'the webhook received the same lines, in order');
});

t.test('a dead webhook never slows requests down', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-audit-dead-'));
  const file = join(dir, 'audit.log');
  const d = await startDaemon({
    dir,
    workers: 1,
    toml: `
[[host]]
name = "localhost"
addr = "localhost"

[audit]
enabled = true
file = "${file}"
webhook = "http://127.0.0.1:1/audit"
`,
  });
  t.teardown(() => d.stop());
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) {
    const r = await d.request('POST', '/hosts', { name: `dw-${i}`, addr: '127.0.0.32' });
    if (r.status !== 201) t.fail(`registration ${i}: ${r.status}`);
  }
  const ms = performance.now() - t0;
  // A request that waited on the webhook's retries (seconds of backoff each)
  // would take minutes; a loaded 2-core machine takes up to ~100 ms each.
  t.ok(ms < 30_000, `100 audited registrations in ${Math.round(ms)} ms`);
  await until(() => readAudit(file).length >= 100, 5_000);
  t.equal(readAudit(file).length, 100, 'the file has every line');
  const warn = await d.waitForLog((l) => l.msg.startsWith('audit webhook unreachable'), 10_000);
  t.equal(warn.level, 'warn');
  t.equal((await d.get('/health')).status, 200);
});

t.test('webhook sink: retries with exponential backoff, bounded queue drops the oldest', async (t) => {
  const hook = await receiver(2);
  t.teardown(() => hook.close());
  const sleeps: number[] = [];
  const sink = new WebhookSink(hook.url, quiet, { baseBackoffMs: 100, maxBackoffMs: 250, sleep: async (ms) => void sleeps.push(ms) });
  sink.write(['{"n":1}', '{"n":2}']);
  await until(() => sink.delivered === 2, 5_000);
  t.same(sleeps, [100, 200], 'two refusals: 100 ms, then 200 ms');
  t.equal(hook.posts, 3);
  t.same(hook.lines, [{ n: 1 }, { n: 2 }]);
  t.equal(sink.backoffMs(5), 250, 'capped');

  // Nothing listens: the queue holds at most maxQueue lines; the oldest go.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const dead = new WebhookSink('http://127.0.0.1:1/x', quiet, { maxQueue: 5, sleep: () => gate, closeDeadlineMs: 100 });
  const t0 = performance.now();
  for (let i = 0; i < 12; i++) dead.write([`{"i":${i}}`]);
  t.ok(performance.now() - t0 < 50, 'write() returns at once');
  t.equal(dead.queued, 5);
  t.equal(dead.dropped, 7, 'seven dropped, counted');
  release();
  await dead.close();
});

t.test('syslog sink: RFC 5424 over a stream socket, logger(1) for a datagram socket, a warning when there is none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-syslog-'));
  t.match(rfc5424('{"a":1}', 'tendhost', 'box', 42, new Date('2024-01-02T03:04:05.000Z')), '<86>1 2024-01-02T03:04:05.000Z box tendhost 42 audit - {"a":1}');

  const streamPath = join(dir, 'stream.sock');
  let got = '';
  const server = createNetServer((c) => c.on('data', (b) => (got += b)));
  await new Promise<void>((r) => server.listen(streamPath, r));
  const sink = new SyslogSink(quiet, { path: streamPath });
  sink.write(['{"action":"host.register"}', '{"action":"host.remove"}']);
  await until(() => got.split('\n').length >= 3, 5_000);
  t.equal(sink.mode, 'stream');
  const msgs = got.trim().split('\n');
  t.match(msgs[0], /^<86>1 \S+Z \S+ tendhost \d+ audit - \{"action":"host.register"\}$/);
  t.match(msgs[1], /\{"action":"host.remove"\}$/);
  await sink.close();
  await new Promise<void>((r) => server.close(() => r()));

  const dgramPath = join(dir, 'dgram.sock');
  const py = spawnSync('python3', ['-c', 'print(1)']);
  if (py.status === 0 && existsSync('/usr/bin/logger')) {
    const out = join(dir, 'dgram.out');
    const rx = spawn('python3', ['-c', `
import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(${JSON.stringify(dgramPath)})
f=open(${JSON.stringify(out)},'a'); s.settimeout(15)
try:
  while True:
    f.write(s.recv(65536).decode()+"\\n"); f.flush()
except Exception: pass
`]);
    t.teardown(() => rx.kill());
    await until(() => existsSync(dgramPath), 5_000);
    const dg = new SyslogSink(quiet, { path: dgramPath });
    dg.write(['{"action":"update.started"}']);
    await until(() => existsSync(out) && readFileSync(out, 'utf8').includes('update.started'), 10_000);
    t.equal(dg.mode, 'logger', 'a datagram socket goes through logger(1)');
    t.match(readFileSync(out, 'utf8'), /^<86>1 \S+ \S+ tendhost \d+ audit .*\{"action":"update.started"\}/m, 'as RFC 5424, authpriv.info');
    await dg.close();
  } else t.comment('python3 or logger(1) missing: datagram fallback not exercised');

  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => warnings.push(JSON.parse(s).msg) });
  const none = new SyslogSink(log, { path: join(dir, 'nothing-here') });
  none.write(['{"x":1}']);
  await until(() => none.mode === 'none', 2_000);
  none.write(['{"x":2}']);
  await until(() => none.dropped === 2, 2_000);
  t.same(warnings, ['syslog is unavailable: audit lines go to the audit file only'], 'warned once');
  await none.close();
});

t.test('actor audit: the machine\'s lifecycle facts become lines, with the job user', async (t) => {
  const model = new ReadModel();
  const jobs = new JobStore();
  const b = new Broadcaster(model, jobs, quiet, 100);
  const records: AuditRecord[] = [];
  attachActorAudit(b.lifecycle, jobs, { record: (r) => records.push(r) });
  const job = jobs.create({ kind: 'update', hosts: ['h1'], request_id: 'rq-1', user: 'alice' });
  // The actor's port messages of one update, as a shard posts them (status and events left out).
  const fact = (host: string, f: Lifecycle, jobId: string | null = job.id): PortMessage => ({ kind: 'lifecycle', host, fact: f, job_id: jobId, request_id: jobId ? 'rq-1' : null });
  b.onBatch(0, [fact('h1', { kind: 'update_started', dry_run: false })]);
  b.onBatch(0, [fact('h1', { kind: 'update_finished', dry_run: false, result: 'ok', upgraded: 3, reboot_required: true }), fact('h1', { kind: 'reboot_triggered' })]);
  t.match(records, [
    { action: 'update.started', host: 'h1', user: 'alice', job_id: job.id, request_id: 'rq-1', result: 'ok', details: { dry_run: false } },
    { action: 'update.finished', host: 'h1', user: 'alice', result: 'ok', details: { upgraded: 3, reboot_required: true } },
    { action: 'reboot.triggered', host: 'h1', user: 'alice', job_id: job.id, result: 'ok' },
  ]);
  t.equal(records.length, 3, 'nothing else');
  t.equal(b.lifecycle.openUpdate('h1'), null, 'the update is closed');

  // A reboot the maintenance window started later has no job: no user.
  b.onBatch(0, [fact('h2', { kind: 'reboot_triggered' }, null)]);
  t.match(records[3], { action: 'reboot.triggered', host: 'h2', user: null, job_id: null, request_id: null });
});

t.test('actor audit: an update cut short by a lost worker finishes with WORKER_FAILED, through the machine', async (t) => {
  const model = new ReadModel();
  const jobs = new JobStore();
  const b = new Broadcaster(model, jobs, quiet, 100);
  const records: AuditRecord[] = [];
  attachActorAudit(b.lifecycle, jobs, { record: (r) => records.push(r) });
  const job = jobs.create({ kind: 'fleet_update', hosts: ['h1', 'h2'], request_id: 'rq-2', user: 'bob' });
  const status = (name: string, state: HostStatus['state']): HostStatus => hostStatus(name, { state, job_id: job.id });
  b.onBatch(0, [
    { kind: 'status', status: status('h1', 'updating') },
    { kind: 'lifecycle', host: 'h1', fact: { kind: 'update_started', dry_run: true }, job_id: job.id, request_id: 'rq-2' },
    // h2 rebooting: its update finished before the worker went.
    { kind: 'status', status: status('h2', 'rebooting') },
  ]);
  const recovery = new Recovery({ hosts: model, jobs, emit: (e) => b.emit(e), lifecycle: b.lifecycle, audit: { record: (r) => records.push(r) }, log: quiet });
  recovery.shardLost(() => true, 'worker died');
  t.match(
    records.map((r) => [r.action, r.host, r.result]),
    [
      ['update.started', 'h1', 'ok'],
      ['update.finished', 'h1', 'WORKER_FAILED'],
      ['host.interrupted', 'h1', 'interrupted: worker died during updating'],
      ['host.interrupted', 'h2', 'interrupted: worker died during rebooting'],
    ],
  );
  t.match(records[1], { user: 'bob', job_id: job.id, request_id: 'rq-2', details: { dry_run: true, upgraded: 0 } });
});

t.test('an actor line that arrives before its request line is written after it; one whose request never comes still lands', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-audit-order-'));
  const file = join(dir, 'audit.log');
  const audit = new RequestOrderedAudit(new AuditLog(file, pino({ level: 'silent' })));
  const line = (action: string, request_id: string, source_ip: string | null): AuditRecord => ({
    action, host: 'h', user: null, source_ip, result: 'ok', job_id: 'j', request_id,
  });
  audit.recordAfterRequest(line('update.started', 'r1', null)); // the event won the race
  audit.recordRequest(line('host.update', 'r1', '127.0.0.1'));
  audit.recordAfterRequest(line('update.finished', 'r1', null));
  audit.recordAfterRequest(line('update.started', 'never-audited', null));
  // The hold ends by itself (2 s), and the audit log flushes within 200 ms.
  await until(() => existsSync(file) && readAudit(file).length === 4, 5_000);
  t.same(readAudit(file).map((a) => `${a.action} ${a.request_id}`), [
    'host.update r1',
    'update.started r1',
    'update.finished r1',
    'update.started never-audited',
  ]);
  await audit.close();
});
