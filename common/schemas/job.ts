// Jobs: every action answers 202 {job_id} at once; the job records what
// happened on each host.
import { Type, type Static } from 'typebox';
import { HostState } from './host.js';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export const JobState = Type.Enum(JOB_STATES);
export type JobState = (typeof JOB_STATES)[number];

export const JOB_KINDS = ['update', 'query', 'reboot', 'retry', 'acknowledge', 'fleet_update'] as const;
export const JobKind = Type.Enum(JOB_KINDS);
export type JobKind = (typeof JOB_KINDS)[number];

export const HOST_RESULT_STATES = ['pending', 'running', 'completed', 'failed', 'unreachable', 'skipped'] as const;

export const JobHostResult = Type.Object(
  {
    host: Type.String(),
    state: Type.Enum(HOST_RESULT_STATES),
    host_state: Type.Union([HostState, Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    code: Type.Union([Type.String(), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
    finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    batch: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Fleet rollouts: the batch the host ran in (1 is the first, the canary when there is one); absent while it has run in none' }),
    ),
  },
  { additionalProperties: false, title: 'JobHostResult' },
);
export type JobHostResult = Static<typeof JobHostResult>;

/** A job's own fields (what a job record has besides its hosts and counts). */
export const JobFields = {
  id: Type.String(),
  kind: JobKind,
  state: JobState,
  dry_run: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  user: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
};

const Count = Type.Integer({ minimum: 0 });

/** How many of a job's hosts are in each result state. */
export const JobSummary = Type.Object(
  { total: Count, pending: Count, running: Count, completed: Count, failed: Count, unreachable: Count, skipped: Count },
  { additionalProperties: false, title: 'JobSummary' },
);
export type JobSummary = Static<typeof JobSummary>;

/** A rollout's hosts of one batch, per result state (the rollout view's rows). */
export const JobBatch = Type.Object(
  {
    batch: Type.Integer({ minimum: 0, description: '0: hosts that have run in no batch (not started yet, or skipped before or instead of one)' }),
    total: Count, pending: Count, running: Count, completed: Count, failed: Count, unreachable: Count, skipped: Count,
  },
  { additionalProperties: false, title: 'JobBatch' },
);
export type JobBatch = Static<typeof JobBatch>;

/**
 * A job as the API answers it: its counts, not its per-host results (a
 * 10,000-host rollout would be ~2 MB per read); those are paged by
 * GET /jobs/{id}/hosts.
 */
export const Job = Type.Object(
  {
    ...JobFields,
    summary: JobSummary,
    batches: Type.Optional(Type.Array(JobBatch, { description: 'Fleet rollouts: the summary per batch, in batch order; they add up to `summary`' })),
  },
  { additionalProperties: false, title: 'Job' },
);
export type Job = Static<typeof Job>;

/** A job as the daemon keeps and stores it: with every host's result. */
export const JobRecord = Type.Object({ ...JobFields, hosts: Type.Array(JobHostResult) }, { additionalProperties: false });
export type JobRecord = Static<typeof JobRecord>;
