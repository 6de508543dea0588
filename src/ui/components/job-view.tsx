// One job: its summary with live progress, the batch grid of a rollout, and
// its per-host results read page by page from GET /jobs/{id}/hosts, filtered
// by result state and batch.
import { useEffect, useState } from 'preact/hooks';
import type { Job, JobHostList, JobHostsQuery } from '../../client/types.js';
import type { JobProgress } from '../../client/index.js';
import type { Store } from '../store.js';
import { setView } from '../url-state.js';
import { BatchGrid } from './batch-grid.js';
import { Progress, cancel } from './jobs.js';
import { whenVisible } from '../visibility.js';

const RESULT_STATES = ['pending', 'running', 'completed', 'failed', 'unreachable', 'skipped'] as const;

type ResultState = JobHostsQuery['state'] | '';

/** Which results are shown: one result state and one batch, or all; and the page. */
interface ResultFilter {
  state: ResultState;
  batch: number | null;
  n: number;
}

/** A change of filter starts again at page 1. */
type SetFilter = (patch: Partial<ResultFilter>) => void;

/** The stream's figures for the job, as one string: a change means the job moved on. */
function progressMark(live: JobProgress | undefined): string {
  return live ? `${live.state}:${live.batch}:${live.in_progress}:${live.completed}:${live.failed}:${live.unreachable}:${live.skipped}` : '';
}

/** The job and the results page, read again when the stream says the job moved on (its batch, progress or end), never on a timer. */
function useJobReads(store: Store, id: string, filter: ResultFilter) {
  const [job, setJob] = useState<Job | null>(null);
  const [page, setPage] = useState<JobHostList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const mark = progressMark(store.stream.model.jobs.get(id));
  const { state, batch, n } = filter;
  useEffect(() => {
    let stale = false;
    const t = setTimeout(async () => {
      await whenVisible(); // nothing is read while the tab is hidden; the frame on return brings a fresh mark
      if (stale) return;
      const query = { page: n, per_page: 50, ...(state ? { state } : {}), ...(batch !== null ? { batch } : {}) };
      Promise.all([store.call((c) => c.getJob(id)), store.call((c) => c.jobHosts(id, query))]).then(
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
  return { job, page, error };
}

function JobSummary({ store, job, filter, setFilter }: { store: Store; job: Job; filter: ResultFilter; setFilter: SetFilter }) {
  const s = job.summary;
  return (
    <>
      <p>
        {job.kind}{job.dry_run ? ' (dry run)' : ''} · <strong data-testid="job-state">{job.state}</strong>
        {job.error && <span class="error-text"> · {job.error}</span>}
        {!job.finished_at && <button type="button" class="small" onClick={() => cancel(store, job.id)}>Cancel</button>}
      </p>
      <Progress p={{ total: s.total, completed: s.completed, failed: s.failed, unreachable: s.unreachable, skipped: s.skipped }} />
      {job.batches && (
        <BatchGrid
          batches={job.batches}
          picked={filter.batch === null ? '' : `${filter.batch}:${filter.state}`}
          pick={(b, o) => setFilter({ batch: b, state: o })}
        />
      )}
    </>
  );
}

function ResultFilters({ filter, setFilter }: { filter: ResultFilter; setFilter: SetFilter }) {
  return (
    <>
      {filter.batch !== null && (
        <button type="button" class="tag" onClick={() => setFilter({ batch: null })}>
          batch {filter.batch || 'none'} ×
        </button>
      )}
      <label>
        Hosts
        <select value={filter.state} onChange={(e) => setFilter({ state: e.currentTarget.value as ResultState })}>
          <option value="">all</option>
          {RESULT_STATES.map((r) => (
            <option key={r} value={r}>{r}</option>
          ))}
        </select>
      </label>
    </>
  );
}

function ResultPage({ page, n, setN }: { page: JobHostList; n: number; setN: (n: number) => void }) {
  return (
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
  );
}

export function JobView({ store, id }: { store: Store; id: string }) {
  store.tick.value;
  const [filter, setFilterState] = useState<ResultFilter>({ state: '', batch: null, n: 1 });
  const setFilter: SetFilter = (patch) => setFilterState((f) => ({ ...f, n: 1, ...patch }));
  const { job, page, error } = useJobReads(store, id, filter);
  return (
    <section class="job" aria-labelledby="job-title" data-testid="job-view">
      <header>
        <h2 id="job-title">Job {id}</h2>
        <button type="button" aria-label="Close job" onClick={() => setView({ job: null })}>×</button>
      </header>
      {error && <p class="error-text">{error}</p>}
      {job && <JobSummary store={store} job={job} filter={filter} setFilter={setFilter} />}
      <ResultFilters filter={filter} setFilter={setFilter} />
      {page && <ResultPage page={page} n={filter.n} setN={(n) => setFilter({ n })} />}
    </section>
  );
}
