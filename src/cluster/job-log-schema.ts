// What the jobs bucket holds, as TypeBox schemas composed from the
// single-daemon job's (common/schemas/job.ts) so a job means the same on one
// machine and in a cluster. Values are checked on the way in from NATS:
// another process wrote them.
import { Type, type Static } from 'typebox';
import { JobBatch, JobFields, JobHostResult, JobSummary } from '../../common/schemas/job.js';
import { FleetUpdateRequest } from '../../common/schemas/requests.js';

/** A job's record without its hosts: who coordinates it, what was asked, its counts at the last write. */
export const ClusterJobHeader = Type.Object(
  {
    ...JobFields,
    /** The node coordinating the job now (it changes when another node takes it over). */
    coordinator: Type.String(),
    /** Fleet rollouts: the request as the API took it (spec and filter), so another node can continue it. */
    request: Type.Union([FleetUpdateRequest, Type.Null()]),
    /** How many selection chunks (`sel.<id>.<n>`) list the hosts. */
    chunks: Type.Integer({ minimum: 0 }),
    summary: JobSummary,
    /** Fleet rollouts: `summary` per batch, so the header alone answers GET /jobs/{id}. */
    batches: Type.Optional(Type.Array(JobBatch)),
  },
  { additionalProperties: false },
);
export type ClusterJobHeader = Static<typeof ClusterJobHeader>;

/** One host's result in a job, with the node (and process) that ran it, when one did. */
export const ClusterJobHostEntry = Type.Object(
  {
    node: Type.Union([Type.String(), Type.Null()]),
    instance: Type.Union([Type.String(), Type.Null()]),
    result: JobHostResult,
  },
  { additionalProperties: false },
);
export type ClusterJobHostEntry = Static<typeof ClusterJobHostEntry>;

/** A selection chunk: host names in the job's order. */
export const ClusterJobChunk = Type.Array(Type.String());

/** What a coordinator sends a host's owner to run one host of a rollout (command `job_update`). */
export const JobDispatch = Type.Object(
  {
    job_id: Type.String(),
    batch: Type.Integer({ minimum: 1 }),
    dry_run: Type.Boolean(),
    request_id: Type.Union([Type.String(), Type.Null()]),
    user: Type.Union([Type.String(), Type.Null()]),
    coordinator: Type.String(),
  },
  { additionalProperties: false },
);
export type JobDispatch = Static<typeof JobDispatch>;
