// The fleet rollout driven directly with a scripted shard pool and a fake
// clock: every outcome a host can end in, thresholds, canaries, batches and
// their concurrency, cancel and halt mid-run, hosts removed mid-run, windows,
// and the final accounting of every job.
import t, { type Test } from 'tap';
import { parseThreshold } from '../../src/fleet/threshold.js';
import { rolloutSelector } from '../../src/fleet/fleet-filter.js';
import { hostStatus } from '../helpers/host-status.js';
import type { JobHostResult } from '../../common/schemas/job.js';
import { RolloutRig, START, names, until } from './rollout-rig.js';
import { jobStarted } from '../../src/events/job-announcer.js';
import { StreamEvent } from '../../common/schemas/stream.js';
import { Value } from 'typebox/value';
import { PROGRESS_EVERY_MS } from '../../src/fleet/rollout-events.js';

/** Every job ends with each selected host in exactly one final state, and the counts agree everywhere. */
function accounting(t: Test, rig: RolloutRig): Record<string, number> {
  const c = rig.rollout.counts();
  t.equal(c.completed + c.failed + c.unreachable + c.skipped, rig.job.hosts.length, 'completed + failed + unreachable + skipped = selected');
  t.same(rig.job.hosts.filter((h) => h.state === 'pending' || h.state === 'running'), [], 'no host left pending or running');
  for (const k of ['completed', 'failed', 'unreachable', 'skipped'] as const) {
    t.equal(rig.job.hosts.filter((h) => h.state === k).length, c[k], `${k} counted as recorded`);
  }
  t.ok(rig.job.hosts.every((h) => h.finished_at !== null), 'every host has its finish time');
  const done = rig.eventsOf('FleetUpdateCompleted');
  t.equal(done.length, 1, 'one FleetUpdateCompleted');
  t.match(done[0], { job_id: rig.job.id, total: rig.job.hosts.length, ...c });
  t.equal(rig.finished.length, 1, 'the job is finished once');
  t.equal(rig.inflight, 0, 'no command still running');
  return c;
}

t.test('every host completes, batch by batch, never more at once than the batch size', async (t) => {
  const rig = new RolloutRig(names(5), { batch_size: 2, delay_ms: 30_000 });
  rig.onSend = () => t.equal(rig.claims.size > 0, true, 'hosts are claimed while the rollout runs');
  await rig.run();
  t.same(accounting(t, rig), { completed: 5, failed: 0, unreachable: 0, skipped: 0 });
  t.same(rig.finished, [{ state: 'succeeded', error: null }]);
  t.same(rig.sent, names(5), 'hosts start in selection order');
  t.equal(rig.maxInflight, 2);
  t.same(rig.sleeps, [30_000, 30_000], 'the delay goes between batches, not before the first');
  t.equal(rig.clock - START, 60_000);
  const batches = rig.eventsOf('FleetUpdateProgress').map((e) => e.batch);
  t.same([...new Set(batches)], [1, 2, 3]);
  t.match(rig.eventsOf('FleetUpdateStarted'), [{ total: 5, hosts: names(5), request_id: 'req-job-1' }]);
  t.match(rig.eventsOf('FleetUpdateCompleted')[0], { aborted_reason: null });
  t.equal(rig.claims.size, 0, 'claims released at the end');
});

t.test('a rollout of 2,500 hosts names its first 1,000 in FleetUpdateStarted and counts them all', async (t) => {
  const all = names(2500, 'n');
  const rig = new RolloutRig(all, { batch_size: 2500 });
  await rig.run();
  const [started] = rig.eventsOf('FleetUpdateStarted');
  t.equal(started.total, 2500);
  t.same(started.hosts, all.slice(0, 1000), 'the first 1,000 in selection order (an event stays far under NATS\'s 1 MiB)');
  t.equal(accounting(t, rig).completed, 2500);
  const jobStart = { ...jobStarted(rig.job), seq: 1, ts: new Date(START).toISOString() };
  t.match(jobStart, { type: 'JobStarted', total: 2500, hosts: all.slice(0, 1000) }, 'JobStarted alike');
  for (const e of [{ ...started, seq: 2, ts: jobStart.ts }, jobStart]) t.ok(Value.Check(StreamEvent, e), `${e.type} matches the stream's schema`);
  t.notOk(Value.Check(StreamEvent, { ...jobStart, hosts: all.slice(0, 1001) }), 'the schema says at most 1,000');
});

t.test('the next batch waits for every host of the current one; a dry run is passed on to each host', async (t) => {
  const rig = new RolloutRig(names(4), { batch_size: 2, dry_run: true });
  rig.script.set('h01', 'hold');
  const run = rig.run();
  await until(() => rig.result('h02')?.state === 'completed', 'h02 done');
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.same(rig.sent, ['h01', 'h02'], 'batch 2 waits while h01 still runs');
  rig.release('h01');
  await run;
  t.same(accounting(t, rig), { completed: 4, failed: 0, unreachable: 0, skipped: 0 });
  t.same(rig.dryRuns, [true, true, true, true]);
});

t.test('each outcome: completed, waiting for a reboot, failed, unreachable, refused, worker gone', async (t) => {
  const rig = new RolloutRig(['ok', 'reboot', 'dpkg', 'refused', 'timeout', 'authfail', 'gone-net', 'busy', 'worker', 'keychanged'], { batch_size: 10 });
  rig.script.set('reboot', 'waiting_reboot');
  rig.script.set('dpkg', { fail: 'PKG_COMMAND_FAILED' });
  rig.script.set('refused', { fail: 'SSH_CONNECTION_REFUSED' });
  rig.script.set('timeout', { fail: 'SSH_TIMEOUT' });
  rig.script.set('authfail', { fail: 'SSH_AUTH_FAILED' });
  rig.script.set('gone-net', { fail: 'SSH_UNREACHABLE' });
  rig.script.set('busy', { refuse: 'HOST_BUSY' });
  rig.script.set('worker', 'reject');
  rig.script.set('keychanged', { fail: 'SSH_HOST_KEY_MISMATCH' });
  await rig.run();
  t.same(accounting(t, rig), { completed: 2, failed: 3, unreachable: 4, skipped: 1 });
  t.match(rig.result('ok'), { state: 'completed', reason: null, code: null });
  t.match(rig.result('reboot'), { state: 'completed', reason: /waiting for a reboot/ });
  t.match(rig.result('dpkg'), { state: 'failed', code: 'PKG_COMMAND_FAILED', error: 'dpkg: scripted PKG_COMMAND_FAILED' });
  for (const h of ['refused', 'timeout', 'authfail', 'gone-net']) t.match(rig.result(h), { state: 'unreachable' }, `${h} is unreachable`);
  t.match(rig.result('keychanged'), { state: 'failed', code: 'SSH_HOST_KEY_MISMATCH' }, 'a changed key answered: failed, not unreachable');
  t.match(rig.result('busy'), { state: 'skipped', code: 'HOST_BUSY', host_state: 'querying', reason: /busy/ });
  t.match(rig.result('worker'), { state: 'failed', code: 'WORKER_UNAVAILABLE', error: /worker for worker is gone/ });
  t.same(rig.finished, [{ state: 'failed', error: null }], 'failed hosts fail the job, without an abort reason');
});

t.test('hosts not ready are skipped with the reason: busy, in another job, failed, waiting for a reboot, removed', async (t) => {
  const rig = new RolloutRig(['ready', 'busy', 'injob', 'failed', 'waiting', 'removed'], { batch_size: 10 });
  rig.model.set('busy', hostStatus('busy', { state: 'updating' }));
  rig.model.set('injob', hostStatus('injob', { job_id: 'job-9' }));
  rig.model.set('failed', hostStatus('failed', { state: 'failed' }));
  rig.model.set('waiting', hostStatus('waiting', { state: 'waiting_reboot' }));
  rig.model.delete('removed');
  await rig.run();
  t.same(accounting(t, rig), { completed: 1, failed: 0, unreachable: 0, skipped: 5 });
  t.same(rig.sent, ['ready'], 'only the ready host gets a command');
  t.match(rig.result('busy'), { reason: 'busy (updating)', host_state: 'updating' });
  t.match(rig.result('injob'), { reason: 'busy (idle, job job-9)' });
  t.match(rig.result('failed'), { reason: /host is failed/, host_state: 'failed' });
  t.match(rig.result('waiting'), { reason: 'host is waiting for a reboot' });
  t.match(rig.result('removed'), { reason: 'host was removed', host_state: null });
  t.same(rig.finished, [{ state: 'succeeded', error: null }], 'skipped hosts do not fail the job');
});

t.test('a host removed while the rollout runs is skipped when its batch comes', async (t) => {
  const rig = new RolloutRig(names(4), { batch_size: 2 });
  rig.onSend = (h) => {
    if (h === 'h01') rig.model.delete('h04');
  };
  await rig.run();
  t.same(accounting(t, rig), { completed: 3, failed: 0, unreachable: 0, skipped: 1 });
  t.match(rig.result('h04'), { state: 'skipped', reason: 'host was removed' });
});

t.test('the filter: only selected hosts are in the job, and only they are touched', async (t) => {
  const fleet = [
    hostStatus('a1', { tags: ['web', 'eu'], groups: ['prod'] }),
    hostStatus('a2', { tags: ['web'], groups: ['prod'] }),
    hostStatus('a3', { tags: ['web', 'eu'], groups: ['staging'] }),
    hostStatus('a4', { tags: ['db', 'eu'], groups: ['prod'] }),
    hostStatus('a5', { tags: ['web', 'eu'], groups: ['prod'] }),
  ];
  const pick = rolloutSelector({ tags: ['web', 'eu'], groups: ['prod', 'dr'], exclude_hosts: ['a5'] });
  const selected = fleet.filter(pick).map((h) => h.name);
  t.same(selected, ['a1']);
  const rig = new RolloutRig(selected);
  for (const h of fleet) if (!rig.model.has(h.name)) rig.model.set(h.name, h);
  await rig.run();
  t.same(accounting(t, rig), { completed: 1, failed: 0, unreachable: 0, skipped: 0 });
  t.same(rig.sent, ['a1']);
});

t.test('a host another rollout holds is skipped, and free again once that rollout is done with it', async (t) => {
  const claims = new Map<string, string>();
  const first = new RolloutRig(['shared', 'x1'], { batch_size: 2 }, claims, 'job-A');
  first.script.set('shared', 'hold');
  const second = new RolloutRig(['shared', 'y1'], { batch_size: 2 }, claims, 'job-B');
  const a = first.run();
  await until(() => first.held().includes('shared'), 'first rollout started shared');
  await second.run();
  t.same(accounting(t, second), { completed: 1, failed: 0, unreachable: 0, skipped: 1 });
  t.match(second.result('shared'), { state: 'skipped', reason: 'claimed by rollout job-A' });
  t.equal(claims.get('shared'), 'job-A');
  first.release('shared');
  await a;
  accounting(t, first);
  t.equal(claims.size, 0, 'every claim released');
});

t.test('max_failures as a count: crossed by a batch, the next batch does not start', async (t) => {
  const rig = new RolloutRig(names(6), { batch_size: 2, max_failures: parseThreshold(1) });
  rig.script.set('h01', { fail: 'PKG_DISK_FULL' });
  rig.script.set('h02', { fail: 'PACKAGE_MANAGER_LOCKED' });
  await rig.run();
  t.same(accounting(t, rig), { completed: 0, failed: 2, unreachable: 0, skipped: 4 });
  t.same(rig.sent, ['h01', 'h02']);
  const why = '2 failed hosts crossed max_failures (1)';
  t.match(rig.result('h03'), { state: 'skipped', reason: `rollout aborted: ${why}` });
  t.same(rig.finished, [{ state: 'failed', error: why }]);
  t.match(rig.eventsOf('FleetUpdateCompleted')[0], { aborted_reason: why });
});

t.test('max_failures at the limit does not abort (crossed means more than allowed)', async (t) => {
  const rig = new RolloutRig(names(4), { batch_size: 1, max_failures: parseThreshold(1) });
  rig.script.set('h01', { fail: 'PKG_COMMAND_FAILED' });
  await rig.run();
  t.same(accounting(t, rig), { completed: 3, failed: 1, unreachable: 0, skipped: 0 });
  t.same(rig.finished, [{ state: 'failed', error: null }]);
});

t.test('max_unreachable as a percentage of the rollout', async (t) => {
  const rig = new RolloutRig(names(10), { batch_size: 3, max_unreachable: parseThreshold('20%') });
  for (const h of ['h01', 'h02', 'h03']) rig.script.set(h, { fail: 'SSH_TIMEOUT' });
  await rig.run();
  t.same(accounting(t, rig), { completed: 0, failed: 0, unreachable: 3, skipped: 7 });
  t.same(rig.finished, [{ state: 'failed', error: '3 unreachable hosts crossed max_unreachable (20%)' }]);
});

t.test('max_failures as a percentage: 1 of 10 is not over 10%, 2 of 10 is', async (t) => {
  const rig = new RolloutRig(names(10), { batch_size: 2, max_failures: parseThreshold('10%') });
  rig.script.set('h01', { fail: 'PKG_COMMAND_FAILED' });
  rig.script.set('h04', { fail: 'PKG_COMMAND_FAILED' });
  await rig.run();
  t.same(accounting(t, rig), { completed: 2, failed: 2, unreachable: 0, skipped: 6 });
  t.same(rig.sent, ['h01', 'h02', 'h03', 'h04']);
});

t.test('a threshold crossed by the last batch stops nothing more', async (t) => {
  const rig = new RolloutRig(names(2), { batch_size: 2, max_failures: parseThreshold(0) });
  rig.script.set('h02', { fail: 'PKG_COMMAND_FAILED' });
  await rig.run();
  t.same(accounting(t, rig), { completed: 1, failed: 1, unreachable: 0, skipped: 0 });
  t.same(rig.finished, [{ state: 'failed', error: null }]);
});

t.test('canary: a failed canary stops the rollout; a good one lets the batches follow after the delay', async (t) => {
  const bad = new RolloutRig(names(5), { canary: 1, batch_size: 2 });
  bad.script.set('h01', { fail: 'SSH_CONNECTION_REFUSED' });
  await bad.run();
  t.same(accounting(t, bad), { completed: 0, failed: 0, unreachable: 1, skipped: 4 });
  t.same(bad.finished, [{ state: 'failed', error: 'canary failed on h01 (unreachable)' }]);
  const good = new RolloutRig(names(5), { canary: 2, batch_size: 2, delay_ms: 10_000 });
  await good.run();
  t.same(accounting(t, good), { completed: 5, failed: 0, unreachable: 0, skipped: 0 });
  t.same(good.sleeps, [10_000, 10_000], 'a delay after the canary and between batches');
});

t.test('cancel during the delay between batches: nothing new starts', async (t) => {
  const rig = new RolloutRig(names(6), { batch_size: 2, delay_ms: 60_000 });
  rig.sleepMode = 'block';
  const run = rig.run();
  await until(() => rig.sleeps.length === 1, 'the rollout waits before batch 2');
  rig.rollout.cancel();
  await run;
  t.same(accounting(t, rig), { completed: 2, failed: 0, unreachable: 0, skipped: 4 });
  t.match(rig.result('h03'), { reason: 'job cancelled before this host started' });
  t.same(rig.finished, [{ state: 'cancelled', error: 'job cancelled' }]);
  t.equal(rig.job.error, 'cancel requested');
});

t.test('cancel while a batch runs: running hosts finish and report, later ones are skipped', async (t) => {
  const rig = new RolloutRig(names(5), { batch_size: 2 });
  rig.script.set('h01', 'hold');
  rig.script.set('h02', 'hold');
  const run = rig.run();
  await until(() => rig.held().length === 2, 'batch 1 running');
  rig.rollout.cancel();
  rig.rollout.cancel();
  rig.release('h01');
  rig.release('h02');
  await run;
  t.same(accounting(t, rig), { completed: 2, failed: 0, unreachable: 0, skipped: 3 });
  t.same(rig.sent, ['h01', 'h02']);
  t.equal(rig.touches > 0, true, 'the job store heard of each change');
});

t.test('halt (the daemon stops): the job ends interrupted with the reason', async (t) => {
  const rig = new RolloutRig(names(4), { batch_size: 2 });
  rig.script.set('h01', 'hold');
  const run = rig.run();
  await until(() => rig.held().length === 1, 'h01 running');
  rig.rollout.halt('daemon shutting down');
  rig.release('h01');
  await run;
  t.same(accounting(t, rig), { completed: 2, failed: 0, unreachable: 0, skipped: 2 });
  t.match(rig.result('h03'), { state: 'skipped', reason: 'interrupted: daemon shutting down' });
  t.same(rig.finished, [{ state: 'interrupted', error: 'interrupted: daemon shutting down' }]);
});

t.test('maintenance windows: outside its window a host is skipped, or waits for it with wait_for_window', async (t) => {
  // 10:00 UTC now; the window opens two hours later in the daemon's local time.
  const local = new Date(START + 2 * 3_600_000);
  const at = (d: Date) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const window = { start: at(local), end: at(new Date(START + 3 * 3_600_000)) };
  const skip = new RolloutRig(['now', 'later'], { batch_size: 2 });
  skip.windows.set('later', window);
  await skip.run();
  t.same(accounting(t, skip), { completed: 1, failed: 0, unreachable: 0, skipped: 1 });
  t.match(skip.result('later'), { reason: `outside maintenance window ${window.start}-${window.end}` });
  const wait = new RolloutRig(['now', 'later'], { batch_size: 2, wait_for_window: true });
  wait.windows.set('later', window);
  await wait.run();
  t.same(accounting(t, wait), { completed: 2, failed: 0, unreachable: 0, skipped: 0 });
  t.same(wait.sent, ['now', 'later']);
  t.equal(wait.clock - START, 2 * 3_600_000, 'the waiting host started when its window opened');
  t.equal(wait.result('later')?.finished_at, new Date(START + 2 * 3_600_000).toISOString());
});

t.test('a rollout waiting for a far-away window can be cancelled', async (t) => {
  const rig = new RolloutRig(['now', 'later'], { batch_size: 2, wait_for_window: true });
  rig.windows.set('later', { start: '03:00', end: '04:00', days: ['Sun'] });
  rig.sleepMode = 'block';
  const run = rig.run();
  await until(() => rig.sleeps.length === 1, 'waiting for the window');
  t.ok(rig.sleeps[0] > 3_600_000, 'the wait is for the window, hours away');
  t.match(rig.result('later'), { state: 'pending', reason: /^waiting for maintenance window 03:00-04:00/ });
  rig.rollout.cancel();
  await run;
  t.same(accounting(t, rig), { completed: 1, failed: 0, unreachable: 0, skipped: 1 });
  t.match(rig.result('later'), { reason: 'job cancelled before this host started' });
  t.same(rig.finished, [{ state: 'cancelled', error: 'job cancelled' }]);
});

t.test('a big batch (600 hosts) starts over several turns, so the event loop keeps turning', async (t) => {
  const rig = new RolloutRig(names(600), { batch_size: 600 });
  let sentWhenOtherWorkRan = -1;
  setImmediate(() => (sentWhenOtherWorkRan = rig.sent.length));
  const t0 = performance.now();
  await rig.run();
  const elapsed = performance.now() - t0;
  t.same(accounting(t, rig), { completed: 600, failed: 0, unreachable: 0, skipped: 0 });
  t.ok(sentWhenOtherWorkRan > 0 && sentWhenOtherWorkRan < 600, `other work ran after ${sentWhenOtherWorkRan} of 600 starts`);
  // Counts are cumulative: at most one report per PROGRESS_EVERY_MS (not one per host), and the last one has the final counts.
  const progress = rig.eventsOf('FleetUpdateProgress');
  t.ok(progress.length <= Math.ceil(elapsed / PROGRESS_EVERY_MS) + 1, `${progress.length} reports in ${Math.round(elapsed)} ms`);
  t.match(progress.at(-1), { batch: 1, completed: 600, in_progress: 0 }, 'the final counts are reported');
  t.ok(rig.events.findIndex((e) => e === progress.at(-1)) < rig.events.findIndex((e) => e.type === 'FleetUpdateCompleted'), 'before the rollout ends');
});

t.test('progress: a report within PROGRESS_EVERY_MS of the last waits, and goes with the latest counts', async (t) => {
  const rig = new RolloutRig(names(3), { batch_size: 3 });
  for (const h of names(3)) rig.script.set(h, 'hold');
  const run = rig.run();
  await until(() => rig.held().length === 3, 'all held');
  t.match(rig.eventsOf('FleetUpdateProgress'), [{ batch: 1, completed: 0, in_progress: 3 }], 'the batch start is reported at once');
  rig.release('h01');
  rig.release('h02');
  t.equal(rig.eventsOf('FleetUpdateProgress').length, 1, 'two hosts ending right after: not reported yet');
  await new Promise((r) => setTimeout(r, PROGRESS_EVERY_MS * 3));
  t.equal(rig.eventsOf('FleetUpdateProgress').length, 2, 'reported once the wait is over');
  t.match(rig.eventsOf('FleetUpdateProgress')[1], { completed: 2, in_progress: 1 }, 'one report, with both');
  rig.release('h03');
  await run;
  t.match(rig.eventsOf('FleetUpdateProgress').at(-1), { completed: 3, in_progress: 0 }, 'the last host: reported before the end');
});

t.test('a batch bigger than the pool has room for: hosts start as others end, never more at once than the room', async (t) => {
  const rig = new RolloutRig(names(10), { batch_size: 10 });
  rig.roomLimit = 3;
  await rig.run();
  t.same(accounting(t, rig), { completed: 10, failed: 0, unreachable: 0, skipped: 0 });
  t.equal(rig.maxInflight, 3, 'three at a time');
  t.same(rig.sent, names(10), 'in the batch order');
  t.equal(rig.rooms.open, 0, 'every room given back');
});

t.test('cancel while a batch waits for room: hosts that never got room are skipped, never sent, their rooms not held', async (t) => {
  const rig = new RolloutRig(names(6), { batch_size: 6 });
  rig.roomLimit = 2;
  rig.script.set('h01', 'hold');
  rig.script.set('h02', 'hold');
  const run = rig.run();
  await until(() => rig.held().length === 2, 'two running, the rest waiting for room');
  t.match(rig.result('h03'), { state: 'pending' }, 'a waiting host is not running yet');
  rig.rollout.cancel();
  rig.release('h01');
  rig.release('h02');
  await run;
  t.same(accounting(t, rig), { completed: 2, failed: 0, unreachable: 0, skipped: 4 });
  t.same(rig.sent, ['h01', 'h02']);
  t.match(rig.result('h03'), { reason: 'job cancelled before this host started' });
  t.equal(rig.rooms.open, 0, 'no room left taken');
});

t.test('a slow shard holds up only its own hosts: the other shard runs through its share of the batch', async (t) => {
  // Odd hosts on shard a, whose first two hold their room; even hosts on b.
  const rig = new RolloutRig(names(20), { batch_size: 20 });
  rig.roomLimit = 2;
  rig.shardOf = (h) => (Number(h.slice(1)) % 2 === 1 ? 'a' : 'b');
  rig.script.set('h01', 'hold');
  rig.script.set('h03', 'hold');
  const run = rig.run();
  const evens = names(20).filter((h) => Number(h.slice(1)) % 2 === 0);
  await until(() => evens.every((h) => rig.result(h)?.state === 'completed'), 'every host of shard b completed');
  t.same(rig.held(), ['h01', 'h03'], 'shard a is still full');
  t.match(rig.result('h05'), { state: 'pending' }, "shard a's next host waits for its room");
  rig.release('h01');
  rig.release('h03');
  await run;
  t.same(accounting(t, rig), { completed: 20, failed: 0, unreachable: 0, skipped: 0 });
  t.equal(rig.rooms.open, 0);
});

t.test('cancel reaches thousands of hosts waiting for room at once, with no listener warning', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const rig = new RolloutRig(names(5000), { batch_size: 5000 });
  rig.roomLimit = 1;
  rig.script.set('h01', 'hold');
  const run = rig.run();
  await until(() => rig.held().length === 1, 'one running, 4,999 waiting');
  rig.rollout.cancel();
  rig.release('h01');
  await run;
  t.same(accounting(t, rig), { completed: 1, failed: 0, unreachable: 0, skipped: 4999 });
  t.same(rig.sent, ['h01']);
  await new Promise((r) => setImmediate(r));
  t.same(warnings, [], 'no MaxListenersExceededWarning');
});

t.test('a refused host and a lost worker give their room back: the rest of the batch still runs', async (t) => {
  const rig = new RolloutRig(names(5), { batch_size: 5 });
  rig.roomLimit = 1;
  rig.script.set('h01', { refuse: 'HOST_BUSY' });
  rig.script.set('h02', 'reject');
  await rig.run();
  t.same(accounting(t, rig), { completed: 3, failed: 1, unreachable: 0, skipped: 1 });
  t.equal(rig.rooms.open, 0);
});

/** Mark hosts as another coordinator left them. */
function left(hosts: JobHostResult[], marks: Record<string, [JobHostResult['state'], number]>): void {
  for (const h of hosts) {
    const m = marks[h.host];
    if (!m) continue;
    h.state = m[0];
    h.batch = m[1];
    if (m[0] !== 'running') h.finished_at = new Date(START).toISOString();
    if (m[0] === 'failed') Object.assign(h, { error: 'apt failed', code: 'PKG_COMMAND_FAILED' });
  }
}

t.test('a rollout taken over continues: final hosts counted, running ones waited for, batches go on from the last', async (t) => {
  const rig = new RolloutRig(names(7), { batch_size: 2 }, new Map(), 'job-1', (hosts) =>
    left(hosts, { h01: ['completed', 1], h02: ['failed', 1], h03: ['running', 2], h04: ['completed', 2] }),
  );
  t.equal(rig.rollout.resumed, true);
  const done = rig.run();
  await until(() => rig.eventsOf('FleetUpdateProgress').length > 0, 'the resumed progress');
  t.match(rig.eventsOf('FleetUpdateProgress')[0], { batch: 2, completed: 2, failed: 1, in_progress: 1 }, 'counts carried over; h03 still in progress');
  t.same(rig.sent, [], 'nothing new starts before the batch under way has ended');
  rig.rollout.hostResult({ kind: 'job_result', job_id: 'job-1', host: 'h03', success: true, state: 'idle', error: null, code: null, finished_at: new Date(rig.clock).toISOString() });
  await done;
  t.same(accounting(t, rig), { completed: 6, failed: 1, unreachable: 0, skipped: 0 });
  t.same(rig.sent, ['h05', 'h06', 'h07'], 'only the hosts not started before, none twice');
  t.same(rig.job.hosts.map((h) => h.batch), [1, 1, 2, 2, 3, 3, 4], 'batches numbered on from the last one');
  t.equal(rig.eventsOf('FleetUpdateStarted').length, 0, 'no second FleetUpdateStarted');
  t.same(rig.finished, [{ state: 'failed', error: null }]);
});

t.test('a rollout taken over during its canary judges the canary when it ends', async (t) => {
  const rig = new RolloutRig(names(4), { batch_size: 2, canary: 1 }, new Map(), 'job-1', (hosts) => left(hosts, { h01: ['running', 1] }));
  const done = rig.run();
  await until(() => rig.eventsOf('FleetUpdateProgress').length > 0, 'the resumed progress');
  rig.rollout.hostResult({ kind: 'job_result', job_id: 'job-1', host: 'h01', success: false, state: 'failed', error: 'boom', code: 'PKG_COMMAND_FAILED', finished_at: new Date(rig.clock).toISOString() });
  await done;
  t.same(accounting(t, rig), { completed: 0, failed: 1, unreachable: 0, skipped: 3 });
  t.same(rig.sent, [], 'no host after a failed canary');
  t.match(rig.finished, [{ state: 'failed', error: 'canary failed on h01 (failed)' }]);

  const passed = new RolloutRig(names(4), { batch_size: 2, canary: 1 }, new Map(), 'job-2', (hosts) => left(hosts, { h01: ['completed', 1] }));
  await passed.run();
  t.same(accounting(t, passed), { completed: 4, failed: 0, unreachable: 0, skipped: 0 });
  t.same(passed.sent, ['h02', 'h03', 'h04'], 'a canary that had passed is not run again');
});
