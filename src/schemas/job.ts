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
  },
  { additionalProperties: false },
);
export type JobHostResult = Static<typeof JobHostResult>;

export const Job = Type.Object(
  {
    id: Type.String(),
    kind: JobKind,
    state: JobState,
    dry_run: Type.Boolean(),
    hosts: Type.Array(JobHostResult),
    created_at: Type.String({ format: 'date-time' }),
    started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
    user: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
export type Job = Static<typeof Job>;
