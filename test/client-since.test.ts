// The event client started from a seq (`since`, what `tendhost events
// --since` uses): the events after it come from the replay buffer with no
// snapshot; a seq the daemon cannot serve (ahead of its history) brings a
// Resync and a snapshot, after which the model equals GET /hosts.
import t from 'tap';
import { nodeClient } from '../src/client/node.js';
import type { StreamEvent } from '../src/client/types.js';
import type { StreamState } from '../src/client/fleet-stream.js';
import { until } from '../harness/daemon.js';
import { allHosts, startSimSetup } from './helpers/sim-daemon.js';

t.test('since: replayed events first, then live; an unknown seq resyncs to a snapshot', async (t) => {
  const setup = await startSimSetup({ hosts: 4, mix: { debian: 100 } });
  t.teardown(() => setup.stop());
  const d = await setup.start();
  const client = nodeClient({ url: d.url });
  const { job_id } = await client.update('sim-00001', { dry_run: true });
  await until(async () => (await client.getJob(job_id)).finished_at !== null);

  const from = 2;
  const replay = client.stream({ since: from });
  t.teardown(() => replay.close());
  const seen: StreamEvent[] = [];
  replay.on('events', (b) => seen.push(...b));
  const states: StreamState[] = [];
  replay.on('state', (s) => states.push(s));
  replay.start();
  await until(() => replay.state === 'live' && seen.some((e) => e.type === 'JobFinished' && e.job_id === job_id));
  t.equal(seen[0].seq, from + 1, 'starts right after the given seq');
  const seqs = seen.map((e) => e.seq);
  t.same(seqs, seqs.map((_, i) => from + 1 + i), 'no gap, no duplicate');
  const updated = new Set(seen.flatMap((e) => (e.type === 'HostUpdated' ? [e.host] : [])));
  t.same([...replay.model.hosts.keys()].sort(), [...updated].sort(), 'no snapshot: the model holds only hosts the replayed events carried');
  t.notOk(states.includes('resyncing'));

  const ahead = client.stream({ since: 1_000_000 });
  t.teardown(() => ahead.close());
  const aheadStates: StreamState[] = [];
  ahead.on('state', (s) => aheadStates.push(s));
  ahead.start();
  await until(() => ahead.state === 'live' && ahead.model.hosts.size === 4);
  t.ok(aheadStates.includes('resyncing'), `a seq from another history resyncs (${aheadStates.join(' → ')})`);
  const daemon = await allHosts(d);
  t.same(Object.fromEntries(ahead.model.hosts), Object.fromEntries(daemon), 'then the model equals GET /hosts');
  t.ok(ahead.model.seq < 1_000_000, 'and follows the daemon’s seq');
  t.throws(() => client.stream({ since: -1 }), RangeError, 'a negative seq is refused');
});
