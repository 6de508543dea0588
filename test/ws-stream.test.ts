// The /ws/events stream a dashboard can trust, against the fleet simulator:
// snapshot then live with no gap or duplicate while a rollout runs, per-host
// order, filters (at connect and changed by message), resume with ?since=,
// Resync past the replay buffer, and a slow client dropped with 4008 while a
// fast one keeps low latency.
import t from 'tap';
import WebSocket from 'ws';
import { startCycleFleet, type CycleFleet } from './helpers/fleet-cycle.js';
import { until } from '../harness/daemon.js';

const HOSTS = 80;
const REPLAY = 300;
let f: CycleFleet;
const name = (i: number) => `sim-${String(i).padStart(5, '0')}`;
const g1 = Array.from({ length: 8 }, (_, k) => name(3 * k + 2));

t.before(async () => {
  f = await startCycleFleet({
    sim: { hosts: HOSTS, rebootDownMs: 200 },
    daemon: `[daemon.ws]\nreplay_buffer = ${REPLAY}\nmax_backpressure_bytes = 65536\n`,
    toml: `[groups]\ng1 = ${JSON.stringify(g1)}\n`,
  });
});
t.teardown(() => f?.stop());

interface Client {
  ws: WebSocket;
  msgs: any[];
  /** Receive time (ms) of each message. */
  at: number[];
  closed: Promise<{ code: number; reason: string }>;
  send(m: object): void;
  close(): void;
}

function connect(query = ''): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${f.d.port}/ws/events${query}`);
  const msgs: any[] = [];
  const at: number[] = [];
  ws.on('message', (m) => {
    at.push(Date.now());
    msgs.push(JSON.parse(String(m)));
  });
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, msgs, at, closed, send: (m) => ws.send(JSON.stringify(m)), close: () => ws.close() }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
  });
}

async function rollout(body: object): Promise<string> {
  const r = await f.d.request('POST', '/fleet/update', body);
  if (r.status !== 202) throw new Error(`POST /fleet/update: ${r.status} ${r.text}`);
  const id = r.body.job_id;
  await until(() => f.events.all.some((e) => e.type === 'FleetUpdateCompleted' && e.job_id === id), 90_000, 50);
  return id;
}
const lastSeq = () => f.events.all[f.events.all.length - 1].seq as number;
/** Events (not control messages) of a client, in arrival order. */
const eventsOf = (c: Client) => c.msgs.filter((m) => typeof m.seq === 'number' && !['Snapshot', 'Resync', 'FilterChanged', 'Pong'].includes(m.type));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Give every simulated host packages to upgrade again, so a run has work (and events). */
const refill = () => {
  for (const h of f.sim.hosts) f.sim.setPending(h.name, 4);
};

t.test('snapshot then live, without gap or duplicate, for clients joining mid-rollout; per-host order holds', async (t) => {
  await f.sim.setFault([name(7), name(41), name(66)], 'upgrade-fail', true);
  const clients: Client[] = [];
  const joins: Promise<void>[] = [];
  const before = f.events.all.length;
  const id = rollout({ batch_size: 10 });
  // Six clients join at random moments while the rollout emits events (after
  // 50 to 600 of its ~2,000 events, so each joins mid-rollout however fast it runs).
  for (let i = 0; i < 6; i++) {
    const after = 50 + Math.floor(Math.random() * 550);
    joins.push(until(() => f.events.all.length - before >= after, 60_000, 5).then(async () => void clients.push(await connect())));
  }
  await Promise.all(joins);
  await id;
  await sleep(300);
  const hosts = (await f.d.get(`/hosts?per_page=200`)).body.data as any[];
  t.equal(hosts.length, HOSTS);
  t.equal(hosts.filter((h) => h.state === 'failed').length, 3, 'three failures on the fleet (upgrade-fail)');
  const final = lastSeq();

  for (const [k, c] of clients.entries()) {
    const snap = c.msgs[0];
    t.equal(snap.type, 'Snapshot', `client ${k}: first message is the snapshot`);
    t.equal(snap.hosts.length, HOSTS);
    const evs = c.msgs.slice(1);
    t.ok(evs.length > 0, `client ${k}: got live events after seq ${snap.seq}`);
    const contiguous = evs.every((e, i) => e.seq === snap.seq + 1 + i);
    t.ok(contiguous, `client ${k}: seqs ${snap.seq + 1}..${evs.at(-1)?.seq} contiguous, no gap or duplicate`);
    t.equal(evs.at(-1).seq, final, `client ${k}: up to the last event`);
    // Snapshot + events = the read model, and every HostStateChanged starts where the last one ended.
    const state = new Map<string, string>(snap.hosts.map((h: any) => [h.name, h.state]));
    let chainOk = true;
    for (const e of evs) {
      if (e.type !== 'HostStateChanged') continue;
      if (state.get(e.host) !== e.from) chainOk = false;
      state.set(e.host, e.to);
    }
    t.ok(chainOk, `client ${k}: per host, each HostStateChanged.from is the previous .to (or the snapshot state)`);
    t.same(Object.fromEntries(state), Object.fromEntries(hosts.map((h) => [h.name, h.state])), `client ${k}: snapshot + events = GET /hosts`);
    c.close();
  }

  // The long-lived recorder saw the whole rollout: per-host order from idle to rest.
  const perHost = new Map<string, string[]>();
  for (const e of f.events.all) if (e.type === 'HostStateChanged') perHost.set(e.host, [...(perHost.get(e.host) ?? []), `${e.from}->${e.to}`]);
  t.same(perHost.get(name(1))!.slice(-7), ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->waiting_reboot', 'waiting_reboot->rebooting', 'rebooting->verifying', 'verifying->idle']);
  t.same(perHost.get(name(7))!.slice(-4), ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->failed']);
  const seqs = f.events.all.slice(1).map((e) => e.seq);
  t.ok(seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1), 'the recorder saw every seq in order');
});

t.test('filters at connect (hosts, tags, groups, types) and changed later by a message', async (t) => {
  const fedora = f.sim.hosts.filter((h) => h.persona === 'fedora').map((h) => h.name);
  const byHosts = await connect(`?hosts=${name(1)},${name(2)}`);
  const byTags = await connect('?tags=fedora&tags=sim');
  const byGroup = await connect('?groups=g1');
  const byTypes = await connect('?types=FleetUpdateStarted,FleetUpdateCompleted');
  const changed = await connect(`?hosts=${name(1)}`);
  await until(() => [byHosts, byTags, byGroup, byTypes, changed].every((c) => c.msgs.length > 0));
  t.same(byHosts.msgs[0].hosts.map((h: any) => h.name), [name(1), name(2)], 'hosts filter: snapshot of those hosts');
  t.same(byTags.msgs[0].hosts.map((h: any) => h.name).sort(), fedora.sort(), 'tags filter: snapshot of the fedora hosts');
  t.same(byGroup.msgs[0].hosts.map((h: any) => h.name), g1, 'groups filter: snapshot of the group');

  changed.send({ type: 'filter', groups: ['g1'], types: ['HostStateChanged'] });
  await until(() => changed.msgs.some((m) => m.type === 'FilterChanged'));
  const fc = changed.msgs.findIndex((m) => m.type === 'FilterChanged');
  t.same(changed.msgs[fc].filter, { hosts: null, tags: null, groups: ['g1'], types: ['HostStateChanged'] });
  await until(() => changed.msgs.length > fc + 1);
  t.equal(changed.msgs[fc + 1].type, 'Snapshot', 'a fresh snapshot of the new subset follows');
  t.same(changed.msgs[fc + 1].hosts.map((h: any) => h.name), g1);
  changed.send({ type: 'filter', types: ['NoSuchEvent'] });
  await until(() => changed.msgs.some((m) => m.type === 'Error'));
  t.match(changed.msgs.find((m) => m.type === 'Error'), { code: 'VALIDATION_FAILED', message: /unknown event type\(s\) NoSuchEvent/ });

  refill();
  const start = lastSeq();
  const id = await rollout({ dry_run: true, batch_size: 40 });
  await sleep(300);
  const live = f.events.all.filter((e) => e.seq > start);
  const seqsOf = (pred: (e: any) => boolean) => live.filter(pred).map((e) => e.seq);
  const got = (c: Client) => eventsOf(c).map((e) => e.seq);
  t.ok(live.length > 100, `the dry run produced ${live.length} events`);
  t.same(got(byHosts), seqsOf((e) => e.host === name(1) || e.host === name(2)), 'hosts: exactly those hosts’ events');
  t.ok(got(byHosts).length >= 8);
  t.same(got(byTags), seqsOf((e) => fedora.includes(e.host)), 'tags: exactly the fedora hosts’ events');
  t.same(got(byGroup), seqsOf((e) => g1.includes(e.host)), 'groups: exactly the group’s events');
  t.same(eventsOf(byTypes).map((e) => `${e.type}:${e.job_id}`), [`FleetUpdateStarted:${id}`, `FleetUpdateCompleted:${id}`], 'types: only the fleet start and end');
  t.same(got(changed), seqsOf((e) => g1.includes(e.host) && e.type === 'HostStateChanged'), 'changed filter: the new hosts and types only');

  await t.rejects(connect('?types=Bogus'), { status: 400 } as unknown as Error, 'an unknown event type is refused at connect');
  for (const c of [byHosts, byTags, byGroup, byTypes, changed]) c.close();
});

t.test('resume with ?since= gets exactly the missed events; past the buffer it gets Resync and a fresh snapshot', async (t) => {
  const first = await connect();
  await until(() => first.msgs.length > 0);
  const seen = first.msgs[0].seq;
  first.close();
  await first.closed;
  refill();

  await rollout({ dry_run: true, batch_size: 5, filter: { groups: ['g1'] } });
  const missed = f.events.all.filter((e) => e.seq > seen);
  t.ok(missed.length > 20 && missed.length < REPLAY, `missed ${missed.length} events, fewer than the buffer`);
  const back = await connect(`?since=${seen}`);
  const oneHost = await connect(`?since=${seen}&hosts=${g1[0]}`);
  await until(() => back.msgs.length >= missed.length && oneHost.msgs.length > 0);
  await sleep(200);
  t.same(back.msgs.map((m) => m.seq), missed.map((e) => e.seq), 'every missed event, in order, no snapshot, nothing else');
  t.same(back.msgs.map((m) => m.type), missed.map((e) => e.type));
  t.same(oneHost.msgs.map((m) => m.seq), missed.filter((e) => e.host === g1[0]).map((e) => e.seq), 'with a filter: that host’s missed events');
  const upToDate = await connect(`?since=${lastSeq()}`);
  await sleep(200);
  t.same(upToDate.msgs, [], 'nothing missed: nothing sent');

  // Live after the replay: continues without gap.
  await rollout({ dry_run: true, batch_size: 5, filter: { hosts: [g1[0]], groups: ['g1'] } as never }).catch(() => {});
  await rollout({ dry_run: true, filter: { exclude_hosts: f.sim.hosts.slice(1).map((h) => h.name) } });
  await sleep(200);
  const s = back.msgs.map((m) => m.seq);
  t.ok(s.every((x, i) => i === 0 || x === s[i - 1] + 1), 'replay then live without gap');
  t.equal(s.at(-1), lastSeq());

  // Push the old seq out of the buffer.
  refill();
  await rollout({ dry_run: true, batch_size: 80 });
  t.ok(lastSeq() - seen > REPLAY, 'more events than the buffer holds since then');
  const stale = await connect(`?since=${seen}`);
  await until(() => stale.msgs.length >= 2);
  t.match(stale.msgs[0], { type: 'Resync', seq: lastSeq(), reason: /no longer in the replay buffer/ });
  t.match(stale.msgs[1], { type: 'Snapshot', seq: lastSeq() });
  t.equal(stale.msgs[1].hosts.length, HOSTS);
  const future = await connect(`?since=${lastSeq() + 1000}`);
  await until(() => future.msgs.length >= 2);
  t.match(future.msgs[0], { type: 'Resync', reason: /ahead of this daemon/ });
  await t.rejects(connect('?since=-1'), { status: 400 } as unknown as Error);
  for (const c of [back, oneHost, upToDate, stale, future]) c.close();
});

t.test('a client that stops reading is dropped with 4008; a fast client keeps low latency', async (t) => {
  const slow = await connect();
  const fast = await connect();
  await until(() => slow.msgs.length > 0 && fast.msgs.length > 0);
  (slow.ws as any)._socket.pause();
  let isDropped = false;
  const dropped = f.d.waitForLog((l) => l.msg === 'dropping slow WebSocket client', 30_000).finally(() => (isDropped = true));
  refill();
  const running = rollout({ dry_run: true, batch_size: 20 });
  // The slow client keeps asking for snapshots (~25 KB each) it never reads,
  // until the kernel's socket buffers are full and the daemon's fills up.
  for (let i = 0; i < 100 && !isDropped; i++) {
    for (let k = 0; k < 20; k++) slow.send({ type: 'filter' });
    await sleep(20);
  }
  const log = await dropped;
  t.ok((log.buffered as number) > 65536, `dropped with ${log.buffered} bytes buffered`);
  await running;
  (slow.ws as any)._socket.resume();
  const closed = await slow.closed;
  t.equal(closed.code, 4008, 'close code says why');
  t.equal(closed.reason, 'backpressure limit exceeded');

  await sleep(200);
  const evs = eventsOf(fast);
  t.ok(evs.length > 100, `fast client got ${evs.length} events`);
  t.ok(evs.every((e, i) => e.seq === fast.msgs[0].seq + 1 + i), 'fast client: no gap');
  const lat = evs.map((e, i) => fast.at[i + 1] - Date.parse(e.ts)).sort((a, b) => a - b);
  const p99 = lat[Math.floor(lat.length * 0.99)];
  t.ok(p99 < 250, `fast client p99 latency ${p99} ms (max ${lat.at(-1)} ms) while the slow one was dropped`);
  const metrics = await f.d.get('/metrics');
  t.match(metrics.text, /^tendhost_websocket_dropped_total 1$/m, 'the drop is counted in /metrics');
  fast.close();
});
