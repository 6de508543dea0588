// Running and recent jobs with live progress (from the stream's JobStarted,
// FleetUpdateProgress, JobFinished) and cancel; one job's view is job-view.tsx.
import type { JobProgress } from '../../client/index.js';
import type { Store } from '../store.js';
import { setView } from '../url-state.js';
import { confirmAction } from './confirm.js';

export function Progress({ p }: { p: Pick<JobProgress, 'total' | 'completed' | 'failed' | 'unreachable' | 'skipped'> }) {
  const total = p.total || 1;
  const parts = [
    ['completed', p.completed],
    ['failed', p.failed],
    ['unreachable', p.unreachable],
    ['skipped', p.skipped],
  ] as const;
  return (
    <div class="progress" role="img" aria-label={parts.map(([k, n]) => `${n} ${k}`).join(', ') + ` of ${p.total}`}>
      <div class="bar">
        {parts.map(([k, n]) => n > 0 && <span key={k} class={`seg r-${k}`} style={{ width: `${(100 * n) / total}%` }} />)}
      </div>
      <span class="muted" data-testid="progress-text">
        {p.completed} completed · {p.failed} failed · {p.unreachable} unreachable · {p.skipped} skipped / {p.total}
      </span>
    </div>
  );
}

export function cancel(store: Store, id: string) {
  confirmAction({ title: `Cancel job ${id}?`, action: 'Cancel job', body: 'Hosts not started yet are skipped; running hosts finish their step.', run: () => store.call((c) => c.cancelJob(id)) });
}

export function JobList({ store }: { store: Store }) {
  store.tick.value;
  const jobs = [...store.stream.model.jobs.values()].reverse().slice(0, 12);
  if (jobs.length === 0) return <p class="muted">No jobs since this page opened.</p>;
  return (
    <ul class="jobs" data-testid="jobs">
      {jobs.map((j) => (
        <li key={j.id}>
          <button type="button" class="link" onClick={() => setView({ job: j.id })}>
            {j.kind === 'fleet_update' ? 'rollout' : j.kind}{j.dry_run ? ' (dry run)' : ''} {j.id.slice(0, 8)}
          </button>{' '}
          <span class="muted">{j.state ?? (j.batch ? `running, batch ${j.batch}` : 'running')}</span>
          {j.state === null && <button type="button" class="small" onClick={() => cancel(store, j.id)}>Cancel</button>}
          <Progress p={j} />
        </li>
      ))}
    </ul>
  );
}
