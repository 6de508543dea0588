// Every job's start and end on the stream (single-host and fleet alike), so a
// client can wait for a job without polling: JobFinished is the end of any job.
import { Type, type Static } from 'typebox';
import { JobKind, JobState } from './job.js';
import { EventHostList } from './event-host-list.js';

const Stamp = {
  seq: Type.Integer({ minimum: 1 }),
  ts: Type.String({ format: 'date-time' }),
  job_id: Type.String(),
  request_id: Type.Optional(Type.String()),
};

export const JobStarted = Type.Object(
  { type: Type.Literal('JobStarted'), ...Stamp, kind: JobKind, dry_run: Type.Boolean(), total: Type.Integer({ minimum: 0 }), hosts: EventHostList },
  { title: 'JobStarted' },
);
export const JobFinished = Type.Object(
  {
    type: Type.Literal('JobFinished'),
    ...Stamp,
    kind: JobKind,
    state: JobState,
    dry_run: Type.Boolean(),
    total: Type.Integer({ minimum: 0 }),
    completed: Type.Integer({ minimum: 0 }),
    failed: Type.Integer({ minimum: 0 }),
    unreachable: Type.Integer({ minimum: 0 }),
    skipped: Type.Integer({ minimum: 0 }),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'JobFinished' },
);
export const JobEvent = Type.Union([JobStarted, JobFinished]);
export type JobEvent = Static<typeof JobEvent>;
