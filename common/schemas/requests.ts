// Request shapes: path params, queries and bodies of the REST API.
import { Type, type Static } from 'typebox';
import { HostName, HostState, HostPolicy, DockerSettings } from './host.js';
import { HostAddress } from './host-address.js';
import { HOST_RESULT_STATES, JobState } from './job.js';

const strict = { additionalProperties: false } as const;

export const HostNameParams = Type.Object({ name: HostName }, strict);
export const GroupNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }) }, strict);
export const JobIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, strict);

export const Paging = {
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
};

export const HostListQuery = Type.Object(
  {
    ...Paging,
    tag: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Repeatable; a host must have all' })),
    state: Type.Optional(HostState),
    group: Type.Optional(Type.String({ minLength: 1 })),
    search: Type.Optional(Type.String({ minLength: 1, description: 'Host name prefix' })),
  },
  strict,
);
export type HostListQuery = Static<typeof HostListQuery>;

export const GroupHostsQuery = Type.Object(Paging, strict);

export const JobListQuery = Type.Object(
  { ...Paging, host: Type.Optional(HostName), state: Type.Optional(JobState) },
  strict,
);

export const JobHostsQuery = Type.Object(
  {
    ...Paging,
    state: Type.Optional(Type.Enum(HOST_RESULT_STATES, { description: "Only hosts whose result is in this state" })),
    batch: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Fleet rollouts: only hosts of this batch (0: hosts that have run in no batch)' })),
  },
  strict,
);

export const UpdateRequest = Type.Object(
  { dry_run: Type.Optional(Type.Boolean({ default: false })) },
  strict,
);

export const EmptyBody = Type.Object({}, strict);

export const DeleteHostQuery = Type.Object({ force: Type.Optional(Type.Boolean()) }, strict);
export const InventoryQuery = Type.Object({ refresh: Type.Optional(Type.Boolean()) }, strict);

export const RegisterHostRequest = Type.Object(
  {
    name: HostName,
    addr: HostAddress,
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' })),
    ssh_key: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 64 })),
    compose_paths: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 64 })),
    policy: Type.Optional(HostPolicy),
    docker: Type.Optional(DockerSettings),
  },
  strict,
);
export type RegisterHostRequest = Static<typeof RegisterHostRequest>;

export const JobAccepted = Type.Object({ job_id: Type.String() }, strict);

export const ErrorBody = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: 'Error' },
);

export const Pagination = Type.Object({
  page: Type.Integer(),
  per_page: Type.Integer(),
  total_items: Type.Integer(),
  total_pages: Type.Integer(),
});

const Threshold = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.String({ pattern: '^(100|[0-9]{1,2})(\\.[0-9]+)?%$', description: 'Percentage of the selected hosts, e.g. "10%"' }),
]);

export const FleetUpdateRequest = Type.Object(
  {
    batch_size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000, default: 10, description: 'Hosts per batch (thresholds and delay_ms act between batches); within one, a host starts when its worker has room to connect it' }),
    ),
    delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000, default: 0 })),
    dry_run: Type.Optional(Type.Boolean({ default: false })),
    canary: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0, description: 'Hosts updated first, alone; all must succeed' })),
    max_failures: Type.Optional(Threshold),
    max_unreachable: Type.Optional(Threshold),
    wait_for_window: Type.Optional(Type.Boolean({ default: false, description: 'Defer hosts outside their maintenance window instead of skipping them' })),
    filter: Type.Optional(
      Type.Object(
        {
          tags: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Host has all of them' })),
          groups: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Host is in any of them' })),
          exclude_hosts: Type.Optional(Type.Array(HostName)),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type FleetUpdateRequest = Static<typeof FleetUpdateRequest>;
