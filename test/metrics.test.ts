// GET /metrics parsed by a strict Prometheus text-format parser, with the
// numbers matching what the API says; /livez and /readyz.
import t from 'tap';
import WebSocket from 'ws';
import { HOST_STATES } from '../common/schemas/host.js';
import { JOB_STATES } from '../common/schemas/job.js';
import { until, type Daemon } from '../harness/daemon.js';
import { parsePrometheusText, sampleValue, samples, type Family } from './helpers/prom-text.js';
import { startSimSetup, waitForJob } from './helpers/sim-daemon.js';

const n = (i: number) => `sim-${String(i).padStart(5, '0')}`;

async function scrape(d: Daemon): Promise<Map<string, Family>> {
  const r = await d.get('/metrics');
  if (r.status !== 200) throw new Error(`/metrics: ${r.status}`);
  if (!String(r.headers.get('content-type')).startsWith('text/plain')) throw new Error(`content-type ${r.headers.get('content-type')}`);
  return parsePrometheusText(r.text);
}

t.test('/metrics matches the API', async (t) => {
  // sim-00007 refuses connections (its update fails); sim-00008 is slow (busy while we scrape).
  const setup = await startSimSetup({ hosts: 8, mix: { debian: 100 }, slowMs: 8000, faults: [`refused=${n(7)}`, `slow=${n(8)}`] });
  t.teardown(() => setup.stop());
  const d = await setup.start();

  for (const i of [1, 2, 3]) {
    const r = await d.request('POST', `/hosts/${n(i)}/update`, { dry_run: true });
    await waitForJob(d, r.body.job_id, (j) => j.state === 'succeeded');
  }
  const bad = await d.request('POST', `/hosts/${n(7)}/update`, { dry_run: true });
  await waitForJob(d, bad.body.job_id, (j) => j.state === 'failed');
  const slow = await d.request('POST', `/hosts/${n(8)}/update`, { dry_run: true });
  await until(async () => (await d.get(`/hosts/${n(8)}`)).body.state === 'querying');

  const m = await scrape(d);
  t.equal(m.get('tendhost_hosts')?.type, 'gauge');
  const byState: Record<string, number> = {};
  for (const s of HOST_STATES) {
    const api = (await d.get(`/hosts?state=${s}`)).body.pagination.total_items;
    t.equal(sampleValue(m, 'tendhost_hosts', { state: s }), api, `hosts in ${s}: ${api}`);
    byState[s] = api;
  }
  t.same([byState.idle, byState.failed, byState.querying], [6, 1, 1], 'six idle, one failed, one querying');
  for (const s of JOB_STATES) {
    const api = (await d.get(`/jobs?state=${s}`)).body.pagination.total_items;
    t.equal(sampleValue(m, 'tendhost_jobs', { state: s }), api, `jobs ${s}: ${api}`);
  }
  t.equal(sampleValue(m, 'tendhost_jobs', { state: 'succeeded' }), 3);
  t.equal(sampleValue(m, 'tendhost_jobs', { state: 'failed' }), 1);
  t.equal(sampleValue(m, 'tendhost_jobs', { state: 'running' }), 1);
  t.ok(slow.body.job_id, 'the slow job is the running one');

  // Command durations by kind: three dry runs and a failure were timed.
  t.equal(m.get('tendhost_operation_duration_seconds')?.type, 'histogram');
  const counts = samples(m, 'tendhost_operation_duration_seconds_count');
  t.ok(counts.length > 0 && counts.reduce((a, s) => a + s.value, 0) >= 4, `operations timed: ${counts.map((s) => `${s.labels.op}/${s.labels.outcome}=${s.value}`).join(' ')}`);
  const inf = samples(m, 'tendhost_operation_duration_seconds_bucket').filter((s) => s.labels.le === '+Inf');
  t.same(inf.map((s) => s.value), counts.map((s) => s.value), 'the +Inf bucket equals the count');

  // Per-worker gauges (workers report every 2 s).
  await new Promise((r) => setTimeout(r, 2200));
  const w = await scrape(d);
  for (const name of ['tendhost_ssh_sessions_open', 'tendhost_ssh_handshakes_in_flight', 'tendhost_worker_event_loop_utilization', 'tendhost_worker_heap_used_bytes', 'tendhost_worker_heap_total_bytes', 'tendhost_worker_external_bytes']) {
    t.same(samples(w, name).map((s) => s.labels.worker).sort(), ['0', '1'], `${name} for both workers`);
  }
  // Heaps (a soak reads them to tell a leak from garbage): each worker's own, the front's, and the process RSS above them all.
  const heaps = samples(w, 'tendhost_worker_heap_used_bytes').map((s) => s.value);
  const frontHeap = sampleValue(w, 'tendhost_heap_used_bytes');
  const rss = sampleValue(w, 'tendhost_resident_memory_bytes');
  t.ok(heaps.every((v) => v > 1e6 && v < 1e9), `worker heaps ${heaps.map((v) => (v / 1e6).toFixed(1)).join(', ')} MB`);
  t.ok(frontHeap > 1e6 && rss > frontHeap + heaps.reduce((a, b) => a + b, 0), `front heap ${(frontHeap / 1e6).toFixed(1)} MB, RSS ${(rss / 1e6).toFixed(1)} MB`);
  // Reserved heap holds the used part; Buffers are counted outside it (fleet-query splits a peak RSS so).
  const totals = samples(w, 'tendhost_worker_heap_total_bytes').map((s) => s.value);
  t.ok(totals.every((v, i) => v >= heaps[i]!), `worker heaps reserved ${totals.map((v) => (v / 1e6).toFixed(1)).join(', ')} MB ≥ used`);
  t.ok(sampleValue(w, 'tendhost_heap_total_bytes') >= frontHeap, 'the front heap reserved ≥ used');
  t.ok(samples(w, 'tendhost_worker_external_bytes').every((s) => s.value > 0) && sampleValue(w, 'tendhost_external_bytes') > 0, 'external memory per thread');
  const elu = samples(w, 'tendhost_worker_event_loop_utilization').map((s) => s.value);
  t.ok(elu.every((v) => v >= 0 && v <= 1), `utilisation in [0, 1]: ${elu.join(', ')}`);
  t.ok(samples(w, 'tendhost_ssh_sessions_open').reduce((a, s) => a + s.value, 0) >= 1, 'the slow host holds an SSH session or handshake');
  // The front event-loop delay is reported per 5 s window once one has passed.
  const eld = await until(async () => {
    const f = await scrape(d);
    const v = ['p50', 'p99', 'max'].map((q) => sampleValue(f, `tendhost_event_loop_delay_${q}_ms`));
    return v[2] > 0 ? v : null;
  }, 8000, 250);
  t.ok(eld[0] >= 0 && eld[0] <= eld[1] && eld[1] <= eld[2] && eld[2] < 1000, `front event-loop delay p50 ${eld[0].toFixed(2)} <= p99 ${eld[1].toFixed(2)} <= max ${eld[2].toFixed(2)} ms`);
  t.ok(samples(w, 'tendhost_broadcaster_lag_ms').length >= 1, 'broadcaster lag is reported');

  // WebSocket clients: the number we hold open.
  const before = sampleValue(w, 'tendhost_websocket_clients');
  t.equal(before, 0, 'no clients yet');
  const clients = await Promise.all(
    [1, 2, 3].map(
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events`);
          ws.once('message', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  t.equal(sampleValue(await scrape(d), 'tendhost_websocket_clients'), 3, 'three clients open');
  clients[0].close();
  await until(async () => sampleValue(await scrape(d), 'tendhost_websocket_clients') === 2, 5000);
  t.pass('two after one closed');
  for (const c of clients.slice(1)) c.close();

  // HTTP requests by route and status: they grow by exactly what we sent.
  const key = (s: { labels: Record<string, string> }) => `${s.labels.method} ${s.labels.route} ${s.labels.status}`;
  const snapshot = (f: Map<string, Family>) => new Map(samples(f, 'tendhost_http_requests_total').map((s) => [key(s), s.value]));
  const h0 = snapshot(await scrape(d));
  for (let i = 0; i < 7; i++) await d.get('/hosts');
  for (let i = 0; i < 3; i++) await d.get(`/hosts/${n(1)}`);
  for (let i = 0; i < 2; i++) await d.get('/hosts/no-such-host');
  await d.request('POST', `/hosts/${n(8)}/update`, { dry_run: true }); // busy: 409
  const h1 = snapshot(await scrape(d));
  const delta = new Map<string, number>();
  for (const [k, v] of h1) if (v !== (h0.get(k) ?? 0)) delta.set(k, v - (h0.get(k) ?? 0));
  t.same(
    Object.fromEntries(delta),
    {
      'GET /hosts 200': 7,
      'GET /hosts/:name 200': 3,
      'GET /hosts/:name 404': 2,
      'POST /hosts/:name/update 409': 1,
      'GET /metrics 200': 1,
    },
    'counters grew by exactly the requests made (and the previous scrape)',
  );
  t.equal(m.get('tendhost_http_requests_total')?.type, 'counter');
});

t.test('/livez and /readyz', async (t) => {
  const setup = await startSimSetup({ hosts: 2, mix: { debian: 100 } });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const live = await d.get('/livez');
  t.equal(live.status, 200);
  t.equal(live.body.status, 'ok');
  const ready = await d.get('/readyz');
  t.equal(ready.status, 200);
  t.same(ready.body, { status: 'ok', checks: { config: true, workers: true, store: true } }, 'config, workers and store all ready');
});
