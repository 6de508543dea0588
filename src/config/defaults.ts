// The defaults step of loading the config: a checked ConfigFile becomes the
// full Config, every value present (env overrides, relative paths resolved
// against the file's folder, seconds turned into milliseconds).
import { availableParallelism, hostname } from 'node:os';
import { isAbsolute, resolve, dirname } from 'node:path';
import type { ConfigFile, HostEntry } from './schema.js';
import type { ClusterAuth, ClusterSettings, Config, LogLevel } from '../../common/config-types.js';
import { ConfigError } from './errors.js';
import type { ResolvedHost } from '../../common/schemas/host.js';

const LOG_LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

type DaemonSection = NonNullable<ConfigFile['daemon']>;
type Defaults = NonNullable<ConfigFile['defaults']>;
type Rel = (p: string) => string;

export function applyDefaults(cfg: ConfigFile, file: string, env: NodeJS.ProcessEnv): Config {
  const d = cfg.daemon ?? {};
  const baseDir = dirname(file);
  const rel: Rel = (p) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const stateDir = rel(env.TENDHOST_STATE_DIR ?? d.state_dir ?? './state');
  const defaults = cfg.defaults ?? {};
  return {
    file,
    daemon: daemonSettings(d, file, env, stateDir, rel),
    workers: workerSettings(d, defaults, stateDir, rel),
    defaults: { ...defaults, ...(defaults.ssh_key ? { ssh_key: rel(defaults.ssh_key) } : {}) },
    groups: cfg.groups ?? {},
    hosts: (cfg.host ?? []).map((h) => resolveHost(h, defaults, rel)),
    audit: {
      enabled: cfg.audit?.enabled ?? false,
      file: rel(cfg.audit?.file ?? resolve(stateDir, 'audit.log')),
      syslog: cfg.audit?.syslog ?? false,
      webhook: cfg.audit?.webhook ?? null,
    },
    cluster: resolveCluster(cfg, rel),
  };
}

/** The front process's settings: listening, logging, TLS, auth, HTTP, WebSocket, rate limit. */
function daemonSettings(d: DaemonSection, file: string, env: NodeJS.ProcessEnv, stateDir: string, rel: Rel): Config['daemon'] {
  const bindText = env.TENDHOST_BIND ?? d.bind ?? '127.0.0.1:8080';
  const bind = parseBind(bindText, file, env.TENDHOST_BIND ? 'TENDHOST_BIND' : 'daemon.bind');
  const logLevel = (env.TENDHOST_LOG_LEVEL ?? d.log_level ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(file, 'TENDHOST_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    host: bind.host,
    port: bind.port,
    log_level: logLevel,
    workers: d.workers ?? availableParallelism(),
    state_dir: stateDir,
    shutdown_grace_ms: (d.shutdown_grace_s ?? 30) * 1000,
    worker_watchdog_ms: (d.worker_watchdog_s ?? 30) * 1000,
    allow_slow_http: d.allow_slow_http ?? false,
    tls: {
      enabled: d.tls?.enabled ?? false,
      cert_path: d.tls?.cert_path ? rel(d.tls.cert_path) : null,
      key_path: d.tls?.key_path ? rel(d.tls.key_path) : null,
    },
    auth: { enabled: d.auth?.enabled ?? false, tokens: d.auth?.tokens ?? [] },
    http: {
      body_limit_bytes: d.http?.body_limit_bytes ?? 1024 * 1024,
      shutdown_timeout_ms: (d.http?.shutdown_timeout_s ?? 10) * 1000,
    },
    ws: {
      replay_buffer: d.ws?.replay_buffer ?? 10_000,
      max_backpressure_bytes: d.ws?.max_backpressure_bytes ?? 4 * 1024 * 1024,
      idle_timeout_s: d.ws?.idle_timeout_s ?? 120,
    },
    rate_limit: {
      enabled: d.rate_limit?.enabled ?? false,
      per: d.rate_limit?.per ?? 'address',
      rate_per_s: d.rate_limit?.rate_per_s ?? 100,
      burst: d.rate_limit?.burst ?? 200,
    },
  };
}

/** What the shard workers get: SSH and operation limits. */
function workerSettings(d: DaemonSection, defaults: Defaults, stateDir: string, rel: Rel): Config['workers'] {
  const ssh = d.ssh ?? {};
  const ops = d.operations ?? {};
  return {
    state_dir: stateDir,
    nice: d.worker_nice ?? 10,
    ssh: {
      host_key_policy: ssh.host_key_policy ?? 'accept-new',
      known_hosts: rel(ssh.known_hosts ?? resolve(stateDir, 'known_hosts')),
      connect_timeout_ms: (ssh.connect_timeout_s ?? 10) * 1000,
      idle_timeout_ms: (ssh.idle_timeout_s ?? 300) * 1000,
      keepalive_ms: (ssh.keepalive_s ?? 30) * 1000,
      max_sessions_per_worker: ssh.max_sessions_per_worker ?? 8000,
      max_handshakes_per_worker: ssh.max_handshakes_per_worker ?? 64,
      default_key: defaults.ssh_key ? rel(defaults.ssh_key) : null,
      key_passphrase: ssh.key_passphrase ?? null,
    },
    operations: {
      command_timeout_ms: (ops.command_timeout_s ?? 1800) * 1000,
      lock_timeout_ms: (ops.lock_timeout_s ?? 300) * 1000,
      max_output_bytes: ops.max_output_bytes ?? 8 * 1024 * 1024,
      reboot_deadline_ms: (ops.reboot_deadline_s ?? 600) * 1000,
      reboot_poll_ms: (ops.reboot_poll_s ?? 5) * 1000,
      inventory_ttl_ms: (ops.inventory_ttl_s ?? 300) * 1000,
    },
  };
}

/** Parse `host:port`, `[v6]:port`; throws ConfigError naming `daemon.bind`. */
export function parseBind(bind: string, file: string, key = 'daemon.bind'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(bind);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(file, key, `must be "host:port" with a port 0..65535, got "${bind}"`);
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

function resolveCluster(cfg: ConfigFile, rel: (p: string) => string): ClusterSettings {
  const c = cfg.cluster ?? {};
  const auth: ClusterAuth =
    c.token !== undefined
      ? { kind: 'token', token: c.token }
      : c.user !== undefined
        ? { kind: 'user', user: c.user, password: c.password ?? '' }
        : c.nkey_seed_file !== undefined
          ? { kind: 'nkey', seed_file: rel(c.nkey_seed_file) }
          : { kind: 'none' };
  return {
    enabled: c.enabled ?? false,
    servers: c.servers ?? [],
    auth,
    tls_ca_file: c.tls_ca_file !== undefined ? rel(c.tls_ca_file) : null,
    node_id: c.node_id ?? hostname(),
    partitions: c.partitions ?? 256,
    lease_ttl_ms: (c.lease_ttl_s ?? 10) * 1000,
    events_retention: {
      max_age_ms: (c.events_max_age_s ?? 86_400) * 1000,
      max_msgs: c.events_max_msgs ?? 1_000_000,
      max_bytes: c.events_max_bytes ?? 1024 ** 3,
    },
    jobs_retention: { max_age_ms: (c.jobs_max_age_s ?? 7 * 86_400) * 1000, max_bytes: c.jobs_max_bytes ?? 1024 ** 3 },
  };
}

export function resolveHost(
  h: HostEntry,
  defaults: NonNullable<ConfigFile['defaults']>,
  rel: (p: string) => string = (p) => p,
): ResolvedHost {
  const key = h.ssh_key ?? defaults.ssh_key;
  return {
    name: h.name,
    addr: h.addr,
    port: h.port ?? defaults.port ?? 22,
    user: h.user ?? defaults.user ?? 'root',
    ssh_key: key ? rel(key) : null,
    compose_paths: h.compose_paths ?? [],
    tags: h.tags ?? [],
    policy: {
      auto_reboot: h.policy?.auto_reboot ?? true,
      maintenance_window: h.policy?.maintenance_window ?? null,
      verify_command: h.policy?.verify_command ?? null,
    },
    docker: {
      compose_version: h.docker?.compose_version ?? null,
      pull_before_update: h.docker?.pull_before_update ?? true,
    },
  };
}

