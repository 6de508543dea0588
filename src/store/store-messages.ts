// Messages between the front process and the store's writer thread.
export interface WriteBatch {
  id: number;
  statuses: Array<[name: string, json: string]>;
  removed_statuses: string[];
  /** Job headers (the job without its `hosts`). */
  jobs: Array<[id: string, state: string, created_at: string, json: string]>;
  /** Per-host results of jobs that changed. */
  job_hosts: Array<[job_id: string, host: string, json: string]>;
  events: Array<[seq: number, json: string]>;
  registered: Array<[name: string, json: string]>;
  unregistered: string[];
  /** Keep at most this many events (the oldest go). */
  event_retention: number;
  /** Keep at most this many jobs (the oldest finished go). */
  job_retention: number;
}

export type ToWriter = { kind: 'batch'; batch: WriteBatch } | { kind: 'close' };

export type FromWriter =
  | { kind: 'ready' }
  | { kind: 'written'; id: number; ms: number; rows: number }
  | { kind: 'error'; message: string; id?: number }
  | { kind: 'closed' };
