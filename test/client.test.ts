// The client library against a real daemon with simulated SSH hosts: typed
// REST calls and errors, and the stream model that must equal GET /hosts —
// live, after a daemon restart (resume with ?since=), and after a forced
// Resync (the replay buffer no longer reaches back).
import type { Test } from 'tap';
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { TendhostApiError } from '../src/client/errors.js';
import { nodeClient, nodeSocket } from '../src/client/node.js';
import { FleetStream, type SocketLike } from '../src/client/fleet-stream.js';
import type { StreamEvent } from '../src/client/types.js';
import { until } from '../harness/daemon.js';
import { allHosts, startSimSetup } from './helpers/sim-daemon.js';

const HOSTS = 12;

/** The model must hold exactly what GET /hosts serves. */
async function modelEqualsDaemon(t: Test, stream: FleetStream, get: () => Promise<Map<string, unknown>>, what: string) {
  const daemon = await until(async () => {
    const d = await get();
    const m = stream.model.hosts;
    if (d.size !== m.size) return null;
    for (const [name, s] of d) if (JSON.stringify(s) !== JSON.stringify(m.get(name))) return null;
    return d;
  }, 15_000).catch(() => null);
  if (!daemon) {
    const d = await get();
    t.same(Object.fromEntries(stream.model.hosts), Object.fromEntries(d), what);
  } else t.pass(what);
}

t.test('REST calls are typed and errors carry the daemon’s code, status and request id', async (t) => {
  const setup = await startSimSetup({ hosts: 3, mix: { debian: 100 } });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const client = nodeClient({ url: d.url });

  const health = await client.health();
  t.equal(health.hosts, 3);
  const page = await client.listHosts({ per_page: 2 });
  t.equal(page.data.length, 2);
  t.equal(page.pagination.total_items, 3);
  const one = await client.getHost('sim-00001');
  t.equal(one.name, 'sim-00001');

  const err = await client.getHost('nope').catch((e: unknown) => e);
  t.ok(err instanceof TendhostApiError, 'one error class');
  t.match(err, { status: 404, code: 'HOST_NOT_FOUND' });
  t.match((err as TendhostApiError).requestId, /.+/, 'the request id of the failed call');

  const bad = await client.listHosts({ per_page: 5000 }).catch((e: unknown) => e);
  t.match(bad, { status: 400, code: 'VALIDATION_FAILED' });

  const gone = nodeClient({ url: 'http://127.0.0.1:1', timeoutMs: 2000 });
  const unreachable = await gone.health().catch((e: unknown) => e);
  t.match(unreachable, { status: 0, code: 'UNREACHABLE' });
  t.ok((unreachable as TendhostApiError).isConnection);
});

t.test('the stream model follows a dry run, and waitForJob resolves with the final job', async (t) => {
  const setup = await startSimSetup({ hosts: HOSTS, mix: { debian: 100 } });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const client = nodeClient({ url: d.url });
  const stream = client.stream({ minBackoffMs: 50, maxBackoffMs: 200 });
  t.teardown(() => stream.close());
  const seen: StreamEvent[] = [];
  stream.on('events', (b) => seen.push(...b));
  stream.start();
  await until(() => stream.state === 'live' && stream.model.hosts.size === HOSTS);

  const { job_id } = await client.update('sim-00002', { dry_run: true });
  const job = await stream.waitForJob(client, job_id);
  t.equal(job.state, 'succeeded');
  t.equal(job.id, job_id);
  t.ok(seen.some((e) => e.type === 'JobStarted' && e.job_id === job_id), 'JobStarted seen');
  t.ok(seen.some((e) => e.type === 'JobFinished' && e.job_id === job_id && e.state === 'succeeded'), 'JobFinished seen');
  t.ok(seen.some((e) => e.type === 'HostUpdated' && e.host === 'sim-00002' && e.status.pending_updates !== null), 'HostUpdated carries the pending count');
  const seqs = seen.map((e) => e.seq);
  t.same(seqs, seqs.map((_, i) => seqs[0] + i), 'consecutive seqs: no gap, no duplicate');
  await modelEqualsDaemon(t, stream, () => allHosts(d), 'model equals GET /hosts after the dry run');

  // An already-finished job resolves at once.
  const again = await stream.waitForJob(client, job_id);
  t.equal(again.state, 'succeeded');
  const missing = await stream.waitForJob(client, 'no-such-job').catch((e: unknown) => e);
  t.match(missing, { status: 404, code: 'JOB_NOT_FOUND' });

  // A host registered and removed through the API reaches the model too.
  const sim = setup.sim.host('sim-00001')!;
  await client.registerHost({ name: 'extra-1', addr: sim.addr, port: sim.port, user: 'root', ssh_key: setup.sim.clientKeyPath, tags: ['x'] });
  await until(() => stream.model.hosts.has('extra-1'));
  await client.removeHost('extra-1');
  await until(() => !stream.model.hosts.has('extra-1'));
  await modelEqualsDaemon(t, stream, () => allHosts(d), 'model equals GET /hosts after a register and a remove');
});

t.test('events() iterates in order and ends when the stream closes', async (t) => {
  const setup = await startSimSetup({ hosts: 3, mix: { debian: 100 } });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const client = nodeClient({ url: d.url });
  const stream = client.stream();
  stream.start();
  await until(() => stream.state === 'live');
  const it = stream.events();
  const { job_id } = await client.update('sim-00001', { dry_run: true });
  const got: StreamEvent[] = [];
  for await (const e of it) {
    got.push(e);
    if (e.type === 'JobFinished' && e.job_id === job_id) break;
  }
  t.ok(got.length >= 4, `${got.length} events`);
  t.equal(got[got.length - 1].type, 'JobFinished');
  const it2 = stream.events();
  stream.close();
  t.same(await it2.next(), { value: undefined, done: true }, 'closing the stream ends the iteration');
});

t.test('across a daemon restart the stream resumes with ?since= and the model equals GET /hosts', async (t) => {
  const setup = await startSimSetup({ hosts: HOSTS, mix: { debian: 100 }, slowMs: 3000, faults: ['slow=sim-00004'] });
  t.teardown(() => setup.stop());
  let d = await setup.start();
  const client = () => nodeClient({ url: d.url });
  const urls: string[] = [];
  // The daemon comes back on another port: the stream follows the test's current daemon.
  const proxied = new FleetStream({
    url: 'http://placeholder',
    minBackoffMs: 100,
    maxBackoffMs: 300,
    openSocket: (url) => {
      const real = url.replace('ws://placeholder', `ws://127.0.0.1:${d.port}`);
      urls.push(real);
      return nodeSocket()(real, undefined);
    },
  });
  t.teardown(() => proxied.close());
  const states: string[] = [];
  proxied.on('state', (s) => states.push(s));
  proxied.start();
  await until(() => proxied.state === 'live' && proxied.model.hosts.size === HOSTS);

  // sim-00004 is mid-handshake (slow) when the daemon is killed: it comes back failed.
  const { job_id } = await client().update('sim-00004', { dry_run: true });
  await until(async () => (await client().getHost('sim-00004')).state === 'querying');
  await sleep(300); // the store's batched writes land
  const seqBefore = proxied.model.seq;
  await d.stop('SIGKILL');
  await until(() => proxied.state === 'reconnecting');
  d = await setup.start();
  await until(() => proxied.state === 'live' && urls.length >= 2, 20_000);
  t.match(urls[urls.length - 1], new RegExp(`since=${seqBefore}`), 'resumed from the last seq it had');
  t.notOk(states.includes('resyncing'), 'the restarted daemon still had the events: no resync');
  await modelEqualsDaemon(t, proxied, () => allHosts(d), 'model equals GET /hosts after the restart');
  t.equal(proxied.model.hosts.get('sim-00004')?.state, 'failed', 'the interrupted host is failed in the model');
  const job = await proxied.waitForJob(client(), job_id);
  t.equal(job.state, 'interrupted', 'waitForJob ends with the interrupted job');
});

t.test('a forced Resync rebuilds the model from a fresh snapshot', async (t) => {
  // A replay buffer of 5 events: a client away for longer than that must resync.
  const setup = await startSimSetup({ hosts: HOSTS, mix: { debian: 100 } }, { daemon: 'ws = { replay_buffer = 5 }' });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const client = nodeClient({ url: d.url });
  let current: SocketLike | null = null;
  const viaHook = new FleetStream({
    url: d.url,
    minBackoffMs: 1500,
    maxBackoffMs: 1500,
    openSocket: (url, token) => (current = nodeSocket()(url, token)),
  });
  t.teardown(() => viaHook.close());
  const states: string[] = [];
  viaHook.on('state', (s) => states.push(s));
  viaHook.start();
  await until(() => viaHook.state === 'live' && viaHook.model.hosts.size === HOSTS);

  // Drop the connection, then make far more events than the buffer holds while away.
  (current as unknown as WebSocket).terminate();
  await until(() => viaHook.state === 'reconnecting');
  const { job_id } = await client.fleetUpdate({ dry_run: true, batch_size: HOSTS });
  await until(async () => (await client.getJob(job_id)).finished_at !== null, 30_000);
  await until(() => viaHook.state === 'live', 10_000);
  t.ok(states.includes('resyncing'), `went through resyncing (${states.join(' → ')})`);
  await modelEqualsDaemon(t, viaHook, () => allHosts(d), 'model equals GET /hosts after the resync');
});
