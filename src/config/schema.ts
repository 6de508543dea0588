// The TypeBox schema of tendhost.toml: every key, its type, range and default.
// Unknown keys are errors (additionalProperties: false everywhere).
import { HostAddress } from '../../common/schemas/host-address.js';
import { Type, type Static } from 'typebox';
import { DockerSettings, HOST_NAME_PATTERN, HostPolicy } from '../../common/schemas/host.js';

const strict = { additionalProperties: false } as const;
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Seconds = Type.Number({ minimum: 0 });
/** A cluster node id: one NATS KV key token (no spaces, no wildcards). */
export const NODE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

export const TokenEntry = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    token_hash: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
  },
  strict,
);

export const DaemonSection = Type.Object(
  {
    bind: Type.Optional(Type.String({ minLength: 1 })),
    log_level: Type.Optional(
      Type.Enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const),
    ),
    workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    worker_nice: Type.Optional(Type.Integer({ minimum: 0, maximum: 19 })),
    allow_slow_http: Type.Optional(Type.Boolean()),
    state_dir: Type.Optional(Type.String({ minLength: 1 })),
    shutdown_grace_s: Type.Optional(Seconds),
    worker_watchdog_s: Type.Optional(Seconds),
    tls: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          cert_path: Type.Optional(Type.String()),
          key_path: Type.Optional(Type.String()),
        },
        strict,
      ),
    ),
    auth: Type.Optional(
      Type.Object(
        { enabled: Type.Optional(Type.Boolean()), tokens: Type.Optional(Type.Array(TokenEntry)) },
        strict,
      ),
    ),
    ssh: Type.Optional(
      Type.Object(
        {
          host_key_policy: Type.Optional(
            Type.Union([Type.Literal('strict'), Type.Literal('accept-new'), Type.Literal('off')]),
          ),
          known_hosts: Type.Optional(Type.String()),
          connect_timeout_s: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          idle_timeout_s: Type.Optional(Seconds),
          keepalive_s: Type.Optional(Seconds),
          max_sessions_per_worker: Type.Optional(Type.Integer({ minimum: 1 })),
          max_handshakes_per_worker: Type.Optional(Type.Integer({ minimum: 1 })),
          key_passphrase: Type.Optional(Type.String()),
        },
        strict,
      ),
    ),
    operations: Type.Optional(
      Type.Object(
        {
          command_timeout_s: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          lock_timeout_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, description: 'How long an upgrade waits for a package-manager lock another process holds' })),
          max_output_bytes: Type.Optional(Type.Integer({ minimum: 1024 })),
          reboot_deadline_s: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          reboot_poll_s: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          inventory_ttl_s: Type.Optional(Seconds),
        },
        strict,
      ),
    ),
    http: Type.Optional(
      Type.Object(
        {
          body_limit_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
          shutdown_timeout_s: Type.Optional(Seconds),
        },
        strict,
      ),
    ),
    ws: Type.Optional(
      Type.Object(
        {
          replay_buffer: Type.Optional(Type.Integer({ minimum: 0 })),
          max_backpressure_bytes: Type.Optional(Type.Integer({ minimum: 1024 })),
          idle_timeout_s: Type.Optional(Type.Integer({ minimum: 8, maximum: 960 })),
        },
        strict,
      ),
    ),
    rate_limit: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          per: Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('address')])),
          rate_per_s: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          burst: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const DefaultsSection = Type.Object(
  {
    user: Type.Optional(Type.String({ minLength: 1 })),
    ssh_key: Type.Optional(Type.String({ minLength: 1 })),
    port: Type.Optional(Port),
  },
  strict,
);

/**
 * A host's policy in the file: the API's, plus `verify_command`, which runs a
 * command on the host and so is the admin's to set, never an API client's.
 */
export const HostPolicyConfig = Type.Object(
  {
    ...HostPolicy.properties,
    verify_command: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, description: 'Run on the host after a reboot, once the new boot id is seen; non-zero exit fails verification' }),
    ),
  },
  strict,
);

export const HostEntry = Type.Object(
  {
    name: Type.String({ pattern: HOST_NAME_PATTERN }),
    addr: HostAddress,
    port: Type.Optional(Port),
    user: Type.Optional(Type.String({ minLength: 1 })),
    ssh_key: Type.Optional(Type.String({ minLength: 1 })),
    compose_paths: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    policy: Type.Optional(HostPolicyConfig),
    docker: Type.Optional(DockerSettings),
  },
  strict,
);
export type HostEntry = Static<typeof HostEntry>;

export const AuditSection = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    file: Type.Optional(Type.String({ minLength: 1 })),
    syslog: Type.Optional(Type.Boolean()),
    webhook: Type.Optional(Type.String({ pattern: '^https?://' })),
  },
  strict,
);

/** `[cluster]`: several daemons acting as one over NATS JetStream (docs/cluster.md). */
export const ClusterSection = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    servers: Type.Optional(Type.Array(Type.String({ pattern: '^(nats|tls)://[^\\s]+$', description: 'NATS server URL' }))),
    token: Type.Optional(Type.String({ minLength: 1 })),
    user: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String({ minLength: 1 })),
    nkey_seed_file: Type.Optional(Type.String({ minLength: 1, description: 'File holding an nkey user seed (SU…)' })),
    tls_ca_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA that signed the NATS servers\' certificates' })),
    // Part of NATS KV keys and subjects: letters, digits, '-', '_' and '.' only.
    node_id: Type.Optional(Type.String({ pattern: NODE_ID_PATTERN })),
    partitions: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536 })),
    lease_ttl_s: Type.Optional(Type.Integer({ minimum: 3, maximum: 600 })),
    // Retention of what the cluster keeps in JetStream (docs/cluster.md, "Retention").
    events_max_age_s: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000, description: 'Oldest event the stream keeps (how far back ?since= reaches)' })),
    events_max_msgs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 1_000_000_000 })),
    events_max_bytes: Type.Optional(Type.Integer({ minimum: 1_048_576, maximum: 1_099_511_627_776 })),
    jobs_max_age_s: Type.Optional(Type.Integer({ minimum: 3600, maximum: 31_536_000, description: 'How long a job record is kept after its last write' })),
    jobs_max_bytes: Type.Optional(Type.Integer({ minimum: 1_048_576, maximum: 1_099_511_627_776 })),
  },
  strict,
);

export const ConfigFile = Type.Object(
  {
    daemon: Type.Optional(DaemonSection),
    defaults: Type.Optional(DefaultsSection),
    groups: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
    host: Type.Optional(Type.Array(HostEntry)),
    audit: Type.Optional(AuditSection),
    cluster: Type.Optional(ClusterSection),
  },
  strict,
);
export type ConfigFile = Static<typeof ConfigFile>;
