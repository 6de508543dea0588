// Host shapes on the wire: the state enum, the status the read model serves,
// and the resolved per-host configuration a worker receives.
import { Type, type Static } from 'typebox';
import { BUSY_STATE_NAMES } from '../busy-states.js';

export const HOST_STATES = [
  'idle',
  'querying',
  'pending_updates',
  'updating',
  'waiting_reboot',
  'rebooting',
  'verifying',
  'failed',
] as const;

export const HostState = Type.Enum(HOST_STATES, {
  description: 'Host actor state',
});
export type HostState = (typeof HOST_STATES)[number];

/** A host name as the API accepts it (also the TOML `[[host]].name`). */
export const HOST_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$';
export const HostName = Type.String({ pattern: HOST_NAME_PATTERN, description: 'Host name' });

export const FailedContext = Type.Object(
  {
    previous_state: HostState,
    error: Type.String(),
    code: Type.String({ description: 'Stable error code, see the error table' }),
    failed_at: Type.String({ format: 'date-time' }),
    retry_count: Type.Integer({ minimum: 0 }),
    acknowledged: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type FailedContext = Static<typeof FailedContext>;

export const PackageManagerName = Type.Union(
  [Type.Literal('apt'), Type.Literal('dnf'), Type.Literal('yum'), Type.Null()],
  { description: 'System package manager detected on the host (null until detected)' },
);
export type PackageManagerName = Static<typeof PackageManagerName>;

export const HostStatus = Type.Object(
  {
    name: HostName,
    addr: Type.String(),
    state: HostState,
    tags: Type.Array(Type.String()),
    groups: Type.Array(Type.String()),
    pending_updates: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    last_updated: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    failed: Type.Union([FailedContext, Type.Null()]),
    shard: Type.Integer({ minimum: 0 }),
    package_manager: PackageManagerName,
    compose: Type.Boolean({ description: 'Host has Docker Compose stacks configured' }),
    job_id: Type.Union([Type.String(), Type.Null()], { description: 'Job driving the host now' }),
  },
  { additionalProperties: false },
);
export type HostStatus = Static<typeof HostStatus>;

export const MaintenanceWindow = Type.Object(
  {
    start: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
    end: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
    days: Type.Optional(
      Type.Array(Type.Enum(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const)),
    ),
  },
  { additionalProperties: false },
);
export type MaintenanceWindow = Static<typeof MaintenanceWindow>;

export const HostPolicy = Type.Object(
  {
    auto_reboot: Type.Optional(Type.Boolean()),
    maintenance_window: Type.Optional(MaintenanceWindow),
  },
  { additionalProperties: false },
);

export const DockerSettings = Type.Object(
  {
    compose_version: Type.Optional(Type.Union([Type.Literal('v1'), Type.Literal('v2')])),
    pull_before_update: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** A host with every default applied: what a worker's actor is built from. */
export const ResolvedHost = Type.Object({
  name: Type.String(),
  addr: Type.String(),
  port: Type.Integer(),
  user: Type.String(),
  ssh_key: Type.Union([Type.String(), Type.Null()]),
  compose_paths: Type.Array(Type.String()),
  tags: Type.Array(Type.String()),
  policy: Type.Object({
    auto_reboot: Type.Boolean(),
    maintenance_window: Type.Union([MaintenanceWindow, Type.Null()]),
    /** Config file only (see HostPolicyConfig); a host restored from an older store may lack it. */
    verify_command: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  }),
  docker: Type.Object({
    compose_version: Type.Union([Type.Literal('v1'), Type.Literal('v2'), Type.Null()]),
    pull_before_update: Type.Boolean(),
  }),
});
export type ResolvedHost = Static<typeof ResolvedHost>;

/** States in which a host is running an operation and refuses another. */
export const BUSY_STATES: ReadonlySet<HostState> = new Set(BUSY_STATE_NAMES);
