// A dry-run update of the shipped `localhost` host, against this machine's
// real apt (simulation only), watched over the WebSocket. apt runs on a
// private configuration (helpers/apt-repo.ts: one package installed at 1.0,
// 1.1 offered by a local repository), so the answer is the same on any
// Debian machine, with or without pending updates of its own.
import t from 'tap';
import WebSocket from 'ws';
import { privateApt } from './helpers/apt-repo.js';
import { startDaemon, until, type Daemon } from '../harness/daemon.js';

const apt = privateApt();
const pending = 1;

let d: Daemon;
t.before(async () => {
  d = await startDaemon({
    toml: '[[host]]\nname = "localhost"\naddr = "localhost"\ntags = ["local"]\n[host.policy]\nauto_reboot = false\n',
    workers: 2,
    env: apt.env,
  });
});
t.teardown(() => d?.stop());

t.test('a dry run on localhost: 202 at once, then the exact state sequence over the WebSocket', async (t) => {
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events`);
  const messages: any[] = [];
  ws.on('message', (m) => messages.push(JSON.parse(String(m))));
  await new Promise((r) => ws.once('open', r));
  await until(() => messages.length > 0);
  t.equal(messages[0].type, 'Snapshot', 'first message is the snapshot');
  t.equal(messages[0].hosts.length, 1);
  t.equal(messages[0].hosts[0].state, 'idle');

  const r = await d.request('POST', '/hosts/localhost/update', { dry_run: true });
  t.equal(r.status, 202);
  t.type(r.body.job_id, 'string');

  const busy = await d.request('POST', '/hosts/localhost/update', { dry_run: true });
  t.equal(busy.status, 409, 'a second update while busy is refused');
  t.equal(busy.body.code, 'HOST_BUSY');
  t.match(busy.body.message, /querying|pending_updates|updating/, 'names the current state');

  const completed = await until(() => messages.find((m) => m.type === 'UpdateCompleted'), 120_000);
  await until(() => messages.some((m) => m.type === 'HostStateChanged' && m.to === 'idle'), 30_000);
  const states = messages.filter((m) => m.type === 'HostStateChanged').map((m) => `${m.from}->${m.to}`);
  t.same(states, ['idle->querying', 'querying->pending_updates', 'pending_updates->updating', 'updating->idle'], 'exact sequence');
  // Steps taken in one turn (the query's answer starting the simulation; its end letting the job go) come with one status each.
  await until(() => messages.some((m) => m.type === 'HostUpdated' && m.status.state === 'idle' && m.status.job_id === null), 30_000);
  const statuses = messages.filter((m) => m.type === 'HostUpdated').map((m) => m.status);
  t.ok(statuses.length < states.length, `fewer statuses than state changes (${statuses.map((s) => s.state).join(', ')})`);
  t.match(statuses.at(-1), { state: 'idle', job_id: null, pending_updates: pending }, 'the last one is where the host rests');
  t.equal(completed.result.dry_run, true);
  t.equal(completed.result.success, true);
  t.equal(completed.result.packages.length, pending, 'reports what apt would upgrade');
  t.match(completed.result.packages[0], { name: apt.upgrade.name }, 'the package the local repository offers');
  t.equal(completed.result.upgraded, pending);
  t.equal(completed.job_id, r.body.job_id, 'events carry the job id');
  const seqs = messages.filter((m) => m.seq !== undefined && m.type !== 'Snapshot').map((m) => m.seq);
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'seq is monotonic');
  t.ok(messages.filter((m) => m.type !== 'Snapshot').every((m) => typeof m.ts === 'string'), 'every event has ts');

  const host = await until(async () => {
    const h = await d.get('/hosts/localhost');
    return h.body.state === 'idle' && h.body.job_id === null ? h : null;
  });
  t.equal(host.body.last_updated, null, 'a dry run leaves last_updated alone');
  t.equal(host.body.package_manager, 'apt');
  t.equal(host.body.pending_updates, pending);
  const job = await until(async () => {
    const j = await d.get(`/jobs/${r.body.job_id}`);
    return j.body.state === 'succeeded' ? j : null;
  });
  t.equal(job.body.kind, 'update');
  t.equal(job.body.dry_run, true);
  t.equal((await d.get(`/jobs/${r.body.job_id}/hosts`)).body.data[0].state, 'completed');
  ws.close();
});
