// Running and recent jobs with live progress (from the stream's JobStarted,
// FleetUpdateProgress, JobFinished), cancel, and one job's per-host results
// read page by page from GET /jobs/{id}/hosts.
import { useEffect, useState } from 'preact/hooks';
import type { Job, JobHostList, JobHostsQuery } from '../../client/types.js';
import type { JobProgress } from '../../client/index.js';
import type { Store } from '../store.js';
import { setView } from '../url-state.js';
import { confirmAction } from './confirm.js';
import { BatchGrid } from './batch-grid.js';
import { whenVisible } from '../visibility.js';

const RESULT_STATES = ['pending', 'running', 'completed', 'failed', 'unreachable', 'skipped'] as const;

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

function cancel(store: Store, id: string) {
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

export function JobView({ store, id }: { store: Store; id: string }) {
  store.tick.value;
  const live = store.stream.model.jobs.get(id);
  const [job, setJob] = useState<Job | null>(null);
  const [page, setPage] = useState<JobHostList | null>(null);
  const [state, setState] = useState<JobHostsQuery['state'] | ''>('');
  const [batch, setBatch] = useState<number | null>(null);
  const [n, setN] = useState(1);
  const [error, setError] = useState<string | null>(null);
  // Read again when the stream says the job moved on (its batch, progress or end), never on a timer.
  const mark = live ? `${live.state}:${live.batch}:${live.in_progress}:${live.completed}:${live.failed}:${live.unreachable}:${live.skipped}` : '';
  useEffect(() => {
    let stale = false;
    const t = setTimeout(async () => {
      await whenVisible(); // nothing is read while the tab is hidden; the frame on return brings a fresh mark
      if (stale) return;
      Promise.all([store.call((c) => c.getJob(id)), store.call((c) => c.jobHosts(id, { page: n, per_page: 50, ...(state ? { state } : {}), ...(batch !== null ? { batch } : {}) }))]).then(
        ([j, p]) => {
          if (stale) return;
          setJob(j);
          setPage(p);
          setError(null);
        },
        (err: Error) => !stale && setError(err.message),
      );
    }, job ? 250 : 0); // progress bursts: one read per quarter second at most
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [id, n, state, batch, mark]);
  const s = job?.summary;
  return (
    <section class="job" aria-labelledby="job-title" data-testid="job-view">
      <header>
        <h2 id="job-title">Job {id}</h2>
        <button type="button" aria-label="Close job" onClick={() => setView({ job: null })}>×</button>
      </header>
      {error && <p class="error-text">{error}</p>}
      {job && s && (
        <>
          <p>
            {job.kind}{job.dry_run ? ' (dry run)' : ''} · <strong data-testid="job-state">{job.state}</strong>
            {job.error && <span class="error-text"> · {job.error}</span>}
            {!job.finished_at && <button type="button" class="small" onClick={() => cancel(store, id)}>Cancel</button>}
          </p>
          <Progress p={{ total: s.total, completed: s.completed, failed: s.failed, unreachable: s.unreachable, skipped: s.skipped }} />
          {job.batches && (
            <BatchGrid
              batches={job.batches}
              picked={batch === null ? '' : `${batch}:${state}`}
              pick={(b, o) => {
                setBatch(b);
                setState(o);
                setN(1);
              }}
            />
          )}
        </>
      )}
      {batch !== null && (
        <button type="button" class="tag" onClick={() => { setBatch(null); setN(1); }}>
          batch {batch || 'none'} ×
        </button>
      )}
      <label>
        Hosts
        <select value={state} onChange={(e) => { setState(e.currentTarget.value as JobHostsQuery['state'] | ''); setN(1); }}>
          <option value="">all</option>
          {RESULT_STATES.map((r) => (
            <option key={r} value={r}>{r}</option>
          ))}
        </select>
      </label>
      {page && (
        <>
          <table class="results">
            <thead>
              <tr><th scope="col">Host</th><th scope="col">Result</th><th scope="col">Detail</th></tr>
            </thead>
            <tbody>
              {page.data.map((r) => (
                <tr key={r.host}>
                  <td><button type="button" class="link" onClick={() => setView({ host: r.host })}>{r.host}</button></td>
                  <td><span class={`pill r-${r.state}`}>{r.state}</span></td>
                  <td>{r.error ?? r.reason ?? ''}{r.code ? ` (${r.code})` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Result pages">
            <button type="button" disabled={n <= 1} onClick={() => setN(n - 1)}>Previous</button>
            <span>page {page.pagination.page} of {page.pagination.total_pages} ({page.pagination.total_items} hosts)</span>
            <button type="button" disabled={n >= page.pagination.total_pages} onClick={() => setN(n + 1)}>Next</button>
          </nav>
        </>
      )}
    </section>
  );
}
