// The --follow display's frame from a model and events, without a terminal:
// per-batch counts are the change since the batch began, a busy host shows
// the package its last UpdateProgress named, lines never exceed the width.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { FleetModel } from '../../src/client/fleet-model.js';
import { ProgressView } from '../../src/cli/progress-view.js';
import type { HostStatus, StreamEvent } from '../../src/client/types.js';
import type { CliEnv } from '../../src/cli/env.js';
import { hostStatus } from '../helpers/host-status.js';

const host = (name: string, over: Partial<HostStatus> = {}): HostStatus => hostStatus(name, { package_manager: 'apt', ...over });

t.test('batch counts, busy hosts with their package, width', async (t) => {
  const model = new FleetModel();
  model.applySnapshot({ seq: 0, hosts: [host('a'), host('b'), host('c')] });
  const out = new PassThrough();
  let written = '';
  out.on('data', (d) => (written += d));
  const env = { stdout: out, columns: 60 } as unknown as CliEnv;
  const view = new ProgressView(env, model, 'J');
  let seq = 0;
  const feed = (e: Record<string, unknown>) => {
    const ev = { seq: ++seq, ts: '2026-12-06T20:00:00.000Z', ...e } as unknown as StreamEvent;
    t.equal(model.apply(ev), 'applied');
    view.event(ev);
  };
  const counts = { completed: 0, failed: 0, unreachable: 0, skipped: 0 };
  feed({ type: 'FleetUpdateStarted', job_id: 'J', total: 3, hosts: ['a', 'b', 'c'] });
  feed({ type: 'FleetUpdateProgress', job_id: 'J', batch: 1, ...counts, in_progress: 2 });
  feed({ type: 'HostUpdated', host: 'a', status: host('a', { state: 'updating', job_id: 'J' }) });
  feed({ type: 'HostStateChanged', host: 'a', from: 'pending_updates', to: 'updating', job_id: 'J' });
  feed({ type: 'UpdateProgress', host: 'a', package: 'openssl', progress: 'Unpacking', job_id: 'J' });
  feed({ type: 'FleetUpdateProgress', job_id: 'J', batch: 1, ...counts, completed: 1, in_progress: 1 });
  let f = view.frame();
  t.match(f[1], /^overall  \[#{8}\.{16}\] 1\/3  completed 1  failed 0/);
  t.match(f[2], /^batch 1  completed 1  failed 0  unreachable 0  skipped 0$/);
  t.ok(f.includes('  a  updating  openssl Unpacking'), 'the busy host with its current package');
  t.ok(f.some((l) => /20:00:00 a: pending_updates -> updating/.test(l)), 'the state change in the recent list');

  feed({ type: 'FleetUpdateProgress', job_id: 'J', batch: 2, ...counts, completed: 2, failed: 0, in_progress: 1 });
  feed({ type: 'FleetUpdateProgress', job_id: 'J', batch: 2, ...counts, completed: 2, failed: 1, in_progress: 0 });
  f = view.frame();
  t.match(f[2], /^batch 2  completed 1  failed 1  unreachable 0  skipped 0$/, 'batch 2 counts only its own (from batch 1’s last report)');

  view.stop();
  for (const line of written.split('\n')) t.ok(line.replace(/\x1b\[[0-9]*[AJ]|\r/g, '').length <= 59, 'no line wider than the terminal');
});

t.test('a busy host past the first 1,000 a job-start event names is shown; a finished one is not', async (t) => {
  const names = Array.from({ length: 1500 }, (_, i) => `h${i}`);
  const model = new FleetModel();
  model.applySnapshot({ seq: 0, hosts: names.map((n) => host(n)) });
  const env = { stdout: new PassThrough(), columns: 80 } as unknown as CliEnv;
  const view = new ProgressView(env, model, 'J');
  let seq = 0;
  const feed = (e: Record<string, unknown>) => {
    const ev = { seq: ++seq, ts: '2026-12-06T20:00:00.000Z', ...e } as unknown as StreamEvent;
    model.apply(ev);
    view.event(ev);
  };
  feed({ type: 'JobStarted', job_id: 'J', kind: 'fleet_update', dry_run: false, total: 1500, hosts: names.slice(0, 1000) });
  // As the daemon sends them: the status first (its job id inside), then the change naming the job.
  feed({ type: 'HostUpdated', host: 'h1200', status: host('h1200', { state: 'querying', job_id: 'J' }) });
  feed({ type: 'HostStateChanged', host: 'h1200', from: 'idle', to: 'querying', job_id: 'J' });
  feed({ type: 'HostUpdated', host: 'h1200', status: host('h1200', { state: 'updating', job_id: 'J' }) });
  feed({ type: 'HostStateChanged', host: 'h1200', from: 'querying', to: 'updating', job_id: 'J' });
  feed({ type: 'HostUpdated', host: 'h1300', status: host('h1300', { state: 'querying', job_id: 'J' }) });
  feed({ type: 'HostStateChanged', host: 'h1300', from: 'idle', to: 'querying', job_id: 'J' });
  feed({ type: 'HostUpdated', host: 'h1300', status: host('h1300', { state: 'idle', job_id: null }) });
  feed({ type: 'HostStateChanged', host: 'h1300', from: 'querying', to: 'idle', job_id: 'J' });
  const f = view.frame();
  t.equal(model.jobs.get('J')?.total, 1500, 'the job counts all its hosts');
  t.ok(f.includes('working on 1 host'), f.join('\n'));
  t.ok(f.includes('  h1200  updating'), 'h1200 is shown busy');
  t.notOk(f.some((l) => l.startsWith('  h1300  ')), 'h1300 is done: not among the busy');
  view.stop();
});
