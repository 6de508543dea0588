// Events a fleet rollout emits (born in the front process, same stream).
import { Type, type Static } from 'typebox';
import { EventHostList } from './event-host-list.js';

const Stamp = {
  seq: Type.Integer({ minimum: 1 }),
  ts: Type.String({ format: 'date-time' }),
  job_id: Type.String(),
  request_id: Type.Optional(Type.String()),
};
const Counts = {
  completed: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  unreachable: Type.Integer({ minimum: 0 }),
  skipped: Type.Integer({ minimum: 0 }),
};

export const FleetUpdateStarted = Type.Object(
  { type: Type.Literal('FleetUpdateStarted'), ...Stamp, total: Type.Integer({ minimum: 0 }), hosts: EventHostList },
  { title: 'FleetUpdateStarted' },
);
export const FleetUpdateProgress = Type.Object(
  { type: Type.Literal('FleetUpdateProgress'), ...Stamp, batch: Type.Integer({ minimum: 0 }), ...Counts, in_progress: Type.Integer({ minimum: 0 }) },
  {
    title: 'FleetUpdateProgress',
    description: "A rollout's counts so far (cumulative): at a batch's start, as its hosts end (at most one report per 100 ms, with the latest counts), and at its end.",
  },
);
export const FleetUpdateCompleted = Type.Object(
  { type: Type.Literal('FleetUpdateCompleted'), ...Stamp, ...Counts, total: Type.Integer({ minimum: 0 }), aborted_reason: Type.Union([Type.String(), Type.Null()]) },
  { title: 'FleetUpdateCompleted' },
);
export const FleetEvent = Type.Union([FleetUpdateStarted, FleetUpdateProgress, FleetUpdateCompleted]);
export type FleetEvent = Static<typeof FleetEvent>;
