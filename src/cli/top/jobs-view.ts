// The jobs pane's rows: running jobs first (newest first), then the latest
// finished ones, each with counts. A fleet rollout reports its counts on the
// stream; a host job's progress is read off its hosts (the ones whose
// `job_id` still names it are not done).
import type { FleetModel, JobProgress } from '../../client/fleet-model.js';
import type { Job } from '../../client/types.js';

export interface JobRow {
  id: string;
  kind: string;
  dry_run: boolean;
  /** null while running */
  state: string | null;
  total: number;
  done: number;
  completed: number;
  failed: number;
  unreachable: number;
  skipped: number;
  batch: number;
  error: string | null;
}

/**
 * Jobs that were running before `top` connected are not on the stream yet:
 * the app reads them once per (re)connection (GET /jobs?state=running) and
 * passes them as `known`; the stream's record wins once it has one.
 */
export function jobRows(model: FleetModel, known: ReadonlyMap<string, Job>, max: number): JobRow[] {
  if (max <= 0) return [];
  const running: JobRow[] = [];
  const finished: JobRow[] = [];
  for (const j of model.jobs.values()) (j.state === null ? running : finished).push(fromStream(model, j, known.get(j.id)));
  for (const j of known.values()) {
    if (model.jobs.has(j.id) || j.finished_at !== null) continue;
    running.push(fromRecord(j));
  }
  running.reverse();
  finished.reverse();
  return [...running, ...finished].slice(0, max);
}

function fromStream(model: FleetModel, j: JobProgress, record: Job | undefined): JobRow {
  // A rollout already running when we connected: its progress events come without the start that told its size.
  const total = j.total === 0 && record ? record.summary.total : j.total;
  let done = j.completed + j.failed + j.unreachable + j.skipped;
  if (j.state === null && j.kind !== 'fleet_update') {
    let busy = 0;
    for (const name of j.hosts) if (model.hosts.get(name)?.job_id === j.id) busy++;
    done = Math.max(0, j.total - busy);
  }
  return {
    id: j.id,
    kind: j.kind,
    dry_run: j.dry_run || !!record?.dry_run,
    state: j.state,
    total,
    done: j.state === null ? done : total,
    completed: j.completed,
    failed: j.failed,
    unreachable: j.unreachable,
    skipped: j.skipped,
    batch: j.batch,
    error: j.error,
  };
}

function fromRecord(j: Job): JobRow {
  const s = j.summary;
  return {
    id: j.id,
    kind: j.kind,
    dry_run: j.dry_run,
    state: null,
    total: s.total,
    done: s.completed + s.failed + s.unreachable + s.skipped,
    completed: s.completed,
    failed: s.failed,
    unreachable: s.unreachable,
    skipped: s.skipped,
    batch: 0,
    error: j.error,
  };
}
