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
