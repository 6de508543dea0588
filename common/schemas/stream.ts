// Everything /ws/events sends, in one place: the event union (from which the
// filterable type list and the OpenAPI document derive) and the control
// messages around it (Snapshot, Resync, FilterChanged, Pong, Error).
import { Type, type Static } from 'typebox';
import { HostStatus } from './host.js';
import { HostEvent } from './events.js';
import { FleetEvent } from './fleet-events.js';
import { JobEvent } from './job-events.js';

export const StreamEvent = Type.Union([...HostEvent.anyOf, ...FleetEvent.anyOf, ...JobEvent.anyOf], { title: 'StreamEvent' });
export type StreamEvent = Static<typeof StreamEvent>;
export type StreamEventType = StreamEvent['type'];

/** Every event type a client may filter on, read off the union. */
export const EVENT_TYPES: readonly StreamEventType[] = StreamEvent.anyOf.map((s) => s.properties.type.const as StreamEventType);

export const Snapshot = Type.Object(
  { type: Type.Literal('Snapshot'), seq: Type.Integer({ minimum: 0 }), ts: Type.String({ format: 'date-time' }), hosts: Type.Array(HostStatus) },
  { title: 'Snapshot', description: 'The (filtered) fleet as of seq; live events follow from seq + 1' },
);
export const Resync = Type.Object(
  { type: Type.Literal('Resync'), seq: Type.Integer({ minimum: 0 }), since: Type.Integer({ minimum: 0 }), reason: Type.String() },
  { title: 'Resync', description: '`since` cannot be served; a Snapshot follows' },
);
const FilterLists = Type.Union([Type.Array(Type.String()), Type.Null()]);
export const FilterChanged = Type.Object(
  {
    type: Type.Literal('FilterChanged'),
    seq: Type.Integer({ minimum: 0 }),
    filter: Type.Object({ hosts: FilterLists, tags: FilterLists, groups: FilterLists, types: FilterLists }),
  },
  { title: 'FilterChanged' },
);
export const Pong = Type.Object({ type: Type.Literal('Pong'), seq: Type.Integer({ minimum: 0 }) }, { title: 'Pong' });
export const StreamError = Type.Object(
  { type: Type.Literal('Error'), code: Type.String(), message: Type.String() },
  { title: 'StreamError' },
);

export const ServerMessage = Type.Union([Snapshot, Resync, FilterChanged, Pong, StreamError, ...StreamEvent.anyOf], { title: 'ServerMessage' });
export type ServerMessage = Static<typeof ServerMessage>;
export type SnapshotMessage = Static<typeof Snapshot>;
export type ResyncMessage = Static<typeof Resync>;

/** An event before the broadcaster stamps it (seq, ts). */
export type UnstampedStreamEvent = StreamEvent extends infer E ? (E extends StreamEvent ? Omit<E, 'seq' | 'ts'> : never) : never;
