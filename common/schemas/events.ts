// Events as WebSocket clients receive them. Workers emit the body (no seq/ts);
// the broadcaster stamps `seq` (monotonic per daemon) and `ts`.
import { Type, type Static, type TSchema } from 'typebox';
import { HostState, HostStatus } from './host.js';
import { UpdateResult } from './packages.js';

const Stamp = {
  seq: Type.Integer({ minimum: 1, description: 'Monotonic per daemon' }),
  ts: Type.String({ format: 'date-time' }),
};
const Trace = {
  job_id: Type.Optional(Type.String()),
  request_id: Type.Optional(Type.String()),
};

function event<T extends string, P extends Record<string, TSchema>>(type: T, props: P) {
  return Type.Object({ type: Type.Literal(type), ...Stamp, ...Trace, ...props }, { title: type });
}

export const HostStateChanged = event('HostStateChanged', {
  host: Type.String(),
  from: HostState,
  to: HostState,
});
export const UpdateProgress = event('UpdateProgress', {
  host: Type.String(),
  package: Type.String(),
  progress: Type.String({ description: 'What the tool reported for this package' }),
});
export const UpdateCompleted = event('UpdateCompleted', {
  host: Type.String(),
  result: UpdateResult,
});
export const HostConnected = event('HostConnected', { host: Type.String() });
export const HostDisconnected = event('HostDisconnected', {
  host: Type.String(),
  reason: Type.String(),
});

/**
 * The host's whole status after any change (and for a newly registered host):
 * a client that applies these holds what `GET /hosts` serves. Comes before the
 * HostStateChanged of the same change.
 */
export const HostUpdated = event('HostUpdated', { host: Type.String(), status: HostStatus });
/** The host is gone from the daemon (removed through the API or a reload). */
export const HostRemoved = event('HostRemoved', { host: Type.String() });

export const HostEvent = Type.Union([
  HostUpdated,
  HostRemoved,
  HostStateChanged,
  UpdateProgress,
  UpdateCompleted,
  HostConnected,
  HostDisconnected,
]);
export type HostEvent = Static<typeof HostEvent>;
export type HostEventType = HostEvent['type'];

/** An event as a worker emits it, before the broadcaster stamps it. */
export type UnstampedEvent = HostEvent extends infer E
  ? E extends HostEvent
    ? Omit<E, 'seq' | 'ts'>
    : never
  : never;
