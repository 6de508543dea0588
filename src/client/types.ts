// Every shape the client sends or receives, derived from the TypeBox schemas
// the daemon validates with (type-only imports: a browser bundle pulls in no
// schema code, and nothing here can drift from the daemon).
import type { Static } from 'typebox';
import type * as Host from '../../common/schemas/host.js';
import type * as JobS from '../../common/schemas/job.js';
import type * as Req from '../../common/schemas/requests.js';
import type * as Inv from '../../common/schemas/inventory.js';
import type * as Stream from '../../common/schemas/stream.js';
import type * as Events from '../../common/schemas/events.js';
import type * as FleetEvents from '../../common/schemas/fleet-events.js';
import type * as JobEvents from '../../common/schemas/job-events.js';
import type { HostList } from '../http/handlers/hosts.js';
import type { JobHostList, JobList } from '../http/handlers/jobs.js';
import type { GroupList, TagList } from '../http/handlers/groups.js';
import type { Health } from '../http/handlers/system.js';

export type HostState = Host.HostState;
export type HostStatus = Static<typeof Host.HostStatus>;
export type FailedContext = Static<typeof Host.FailedContext>;
export type Job = Static<typeof JobS.Job>;
export type JobState = JobS.JobState;
export type JobKind = JobS.JobKind;
export type JobHostResult = Static<typeof JobS.JobHostResult>;
export type JobSummary = JobS.JobSummary;
export type JobHostsQuery = Static<typeof Req.JobHostsQuery>;
export type HostListQuery = Static<typeof Req.HostListQuery>;
export type JobListQuery = Static<typeof Req.JobListQuery>;
export type RegisterHostRequest = Static<typeof Req.RegisterHostRequest>;
export type FleetUpdateRequest = Static<typeof Req.FleetUpdateRequest>;
export type JobAccepted = Static<typeof Req.JobAccepted>;
export type Pagination = Static<typeof Req.Pagination>;
export type Inventory = Static<typeof Inv.Inventory>;
export type HostList = Static<typeof HostList>;
export type JobList = Static<typeof JobList>;
export type JobHostList = Static<typeof JobHostList>;
export type GroupList = Static<typeof GroupList>;
export type TagList = Static<typeof TagList>;
export type Health = Static<typeof Health>;

export type StreamEvent = Stream.StreamEvent;
export type StreamEventType = Stream.StreamEventType;
export type ServerMessage = Stream.ServerMessage;
export type SnapshotMessage = Stream.SnapshotMessage;
export type ResyncMessage = Stream.ResyncMessage;
export type HostStateChanged = Static<typeof Events.HostStateChanged>;
export type HostUpdated = Static<typeof Events.HostUpdated>;
export type UpdateProgress = Static<typeof Events.UpdateProgress>;
export type UpdateCompleted = Static<typeof Events.UpdateCompleted>;
export type FleetUpdateProgress = Static<typeof FleetEvents.FleetUpdateProgress>;
export type FleetUpdateCompleted = Static<typeof FleetEvents.FleetUpdateCompleted>;
export type JobStarted = Static<typeof JobEvents.JobStarted>;
export type JobFinished = Static<typeof JobEvents.JobFinished>;

/** Which events a stream receives (each list: any of; tags: the host has all). */
export interface StreamFilter {
  hosts?: string[];
  tags?: string[];
  groups?: string[];
  types?: StreamEventType[];
}
