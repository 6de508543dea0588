// The configuration after defaults are applied: what the rest of the daemon
// reads. Every field is present; nothing downstream re-derives a default.
import type { ResolvedHost } from './schemas/host.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

/** The part of the configuration a shard worker needs (structured-clone safe). */
export interface DaemonSettingsForWorkers {
  state_dir: string;
  /** `[daemon] worker_nice`: nice levels the shard (and store-writer) threads run below the front thread. */
  nice: number;
  ssh: {
    host_key_policy: HostKeyPolicy;
    known_hosts: string;
    connect_timeout_ms: number;
    idle_timeout_ms: number;
    keepalive_ms: number;
    max_sessions_per_worker: number;
    max_handshakes_per_worker: number;
    default_key: string | null;
    key_passphrase: string | null;
  };
  operations: {
    command_timeout_ms: number;
    /** An upgrade waits this long for a lock another process holds, then fails PACKAGE_MANAGER_LOCKED. */
    lock_timeout_ms: number;
    max_output_bytes: number;
    reboot_deadline_ms: number;
    reboot_poll_ms: number;
    inventory_ttl_ms: number;
  };
}

/** How a node proves itself to NATS: at most one kind per `[cluster]`. */
export type ClusterAuth =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'user'; user: string; password: string }
  | { kind: 'nkey'; seed_file: string };

/** `[cluster]` after defaults; `enabled: false` (the default) means a single daemon, as without the section. */
export interface ClusterSettings {
  enabled: boolean;
  servers: string[];
  auth: ClusterAuth;
  /** PEM CA for `tls://` servers (null: the system's CAs). */
  tls_ca_file: string | null;
  node_id: string;
  partitions: number;
  lease_ttl_ms: number;
  /** The event stream's limits (whichever is reached first drops the oldest events). */
  events_retention: { max_age_ms: number; max_msgs: number; max_bytes: number };
  /** The jobs bucket's limits: entries expire max_age after their last write; a full bucket refuses new jobs. */
  jobs_retention: { max_age_ms: number; max_bytes: number };
}

export interface Config {
  /** Absolute path of the file this came from (for messages and reload). */
  file: string;
  daemon: {
    host: string;
    port: number;
    log_level: LogLevel;
    workers: number;
    state_dir: string;
    shutdown_grace_ms: number;
    /** A shard worker silent this long is replaced (0 = never). */
    worker_watchdog_ms: number;
    /** `[daemon] allow_slow_http`: start even when only uWS's pure-JS fallback loads. */
    allow_slow_http: boolean;
    tls: { enabled: boolean; cert_path: string | null; key_path: string | null };
    auth: { enabled: boolean; tokens: Array<{ name: string; token_hash: string }> };
    http: { body_limit_bytes: number; shutdown_timeout_ms: number };
    ws: { replay_buffer: number; max_backpressure_bytes: number; idle_timeout_s: number };
    rate_limit: { enabled: boolean; per: 'token' | 'address'; rate_per_s: number; burst: number };
  };
  workers: DaemonSettingsForWorkers;
  /** `[defaults]` as written (also applied to hosts registered through the API). */
  defaults: { user?: string; port?: number; ssh_key?: string };
  groups: Record<string, string[]>;
  hosts: ResolvedHost[];
  audit: { enabled: boolean; file: string; syslog: boolean; webhook: string | null };
  cluster: ClusterSettings;
}
