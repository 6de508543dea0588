// A shard's outbox: a host's newer status takes the place of the one still
// queued (readers get one HostUpdated per host and batch), never across a
// removal of that host; statuses may go out ahead of events, never of a removal.
import t from 'tap';
import { Outbox } from '../../workers/outbox.js';
import type { PortMessage } from '../../common/thread-protocol.js';
import type { HostState, HostStatus } from '../../common/schemas/host.js';

const status = (name: string, state: HostState, job_id: string | null = 'J'): PortMessage => ({
  kind: 'status',
  status: { name, addr: '127.0.0.1', tags: [], groups: [], pending_updates: null, last_updated: null, error: null, shard: 0, package_manager: null, compose: false, job_id, state, failed: null } satisfies HostStatus,
});
const changed = (host: string, from: HostState, to: HostState): PortMessage => ({ kind: 'event', event: { type: 'HostStateChanged', host, from, to } });
const show = (batch: PortMessage[]): string[] =>
  batch.map((m) => (m.kind === 'status' ? `status ${m.status.name} ${m.status.state}${m.status.job_id ? '' : ' (no job)'}` : m.kind === 'event' && m.event.type === 'HostStateChanged' ? `${m.event.host} ${m.event.from}->${m.event.to}` : m.kind === 'removed' ? `removed ${m.name}` : m.kind));

t.test("a host's newer status takes the place of its queued one, ahead of the events it came with", async (t) => {
  const box = new Outbox();
  // A dry run's last steps, all in one turn, beside another host's.
  box.push(status('a', 'pending_updates'));
  box.push(changed('a', 'querying', 'pending_updates'));
  box.push(status('b', 'querying'));
  box.push(status('a', 'updating'));
  box.push(changed('a', 'pending_updates', 'updating'));
  box.push(status('a', 'idle'));
  box.push(changed('a', 'updating', 'idle'));
  box.push(status('a', 'idle', null));
  t.equal(box.length, 5);
  t.same(show(box.takeAll()), ['status a idle (no job)', 'a querying->pending_updates', 'status b querying', 'a pending_updates->updating', 'a updating->idle']);
  t.equal(box.length, 0);
  // A new batch starts over: the next status is queued, not put in the old place.
  box.push(status('a', 'querying'));
  box.push(status('a', 'pending_updates'));
  t.same(show(box.takeAll()), ['status a pending_updates']);
});

t.test('a removal ends a host’s place: removed and added back within one batch, it ends up present', async (t) => {
  const box = new Outbox();
  box.push(status('a', 'idle'));
  box.push({ kind: 'removed', name: 'a' });
  box.push(status('a', 'querying'));
  box.push(status('a', 'pending_updates'));
  t.same(show(box.takeAll()), ['status a idle', 'removed a', 'status a pending_updates']);
});

t.test('statuses go out ahead of the rest, never ahead of a removal; what stays keeps its places', async (t) => {
  const box = new Outbox();
  box.push(status('a', 'querying'));
  box.push(changed('a', 'idle', 'querying'));
  box.push({ kind: 'removed', name: 'b' });
  box.push(status('b', 'idle'));
  t.same(show(box.takeStatuses()), ['status a querying']);
  t.same(show(box.takeStatuses()), [], 'none left before the removal');
  box.push(status('b', 'querying'));
  box.push(status('a', 'pending_updates'));
  t.same(show(box.takeAll()), ['a idle->querying', 'removed b', 'status b querying', 'status a pending_updates']);
});
