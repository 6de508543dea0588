// Config is loaded once: find the file → parse TOML → check against the
// schema → cross-checks (duplicates, groups, windows) → apply defaults →
// freeze. Every failure is a ConfigError naming the file, the key, and the
// line when we can find it.
import { readFileSync, existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { isAbsolute, resolve, dirname } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { Compile } from 'typebox/compile';
import { ConfigFile, NODE_ID_PATTERN, type HostEntry } from './schema.js';
import type { ClusterAuth, ClusterSettings, Config, LogLevel } from '../../common/config-types.js';
import { ConfigError, describeSchemaError, findKeyLine } from './errors.js';
import { detachStrings } from './detach-strings.js';
import type { ResolvedHost } from '../../common/schemas/host.js';

const checkConfigFile = Compile(ConfigFile);

export const DEFAULT_CONFIG_PATHS = ['./tendhost.toml', '/etc/tendhost/tendhost.toml'];

/** TENDHOST_CONFIG, then ./tendhost.toml, then /etc/tendhost/tendhost.toml. */
export function findConfigFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (env.TENDHOST_CONFIG) {
    const p = resolve(cwd, env.TENDHOST_CONFIG);
    if (!existsSync(p)) throw new ConfigError(p, null, `file not found (from TENDHOST_CONFIG)`);
    return p;
  }
  for (const candidate of DEFAULT_CONFIG_PATHS) {
    const p = resolve(cwd, candidate);
    if (existsSync(p)) return p;
  }
  throw new ConfigError(
    DEFAULT_CONFIG_PATHS.map((p) => resolve(cwd, p)).join(' or '),
    null,
    'no configuration file found (set TENDHOST_CONFIG)',
  );
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, null, `cannot read: ${(err as Error).message}`);
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: unknown;
  try {
    raw = detachStrings(parse(text));
  } catch (err) {
    if (err instanceof TomlError) {
      const firstLine = err.message.split('\n')[0];
      throw new ConfigError(file, null, `TOML syntax error: ${firstLine}`, err.line);
    }
    throw new ConfigError(file, null, `TOML syntax error: ${(err as Error).message}`);
  }
  if (!checkConfigFile.Check(raw)) {
    const first = describeSchemaError(ConfigFile, raw, [...checkConfigFile.Errors(raw)]);
    throw new ConfigError(file, first.key, first.message, findKeyLine(text, first.key));
  }
  const cfg = raw as ConfigFile;
  crossCheck(cfg, file, text);
  return Object.freeze(applyDefaults(cfg, file, env)) as Config;
}

function crossCheck(cfg: ConfigFile, file: string, text: string): void {
  const seen = new Map<string, number>();
  (cfg.host ?? []).forEach((h, i) => {
    const prev = seen.get(h.name);
    if (prev !== undefined) {
      throw new ConfigError(
        file,
        `host[${i}].name`,
        `duplicate host name "${h.name}" (also host[${prev}])`,
        findKeyLine(text, `host[${i}].name`),
      );
    }
    seen.set(h.name, i);
    const w = h.policy?.maintenance_window;
    if (w && w.start === w.end) {
      throw new ConfigError(file, `host[${i}].policy.maintenance_window`, 'start and end must differ');
    }
  });
  for (const [group, members] of Object.entries(cfg.groups ?? {})) {
    members.forEach((m, j) => {
      if (!seen.has(m)) {
        throw new ConfigError(
          file,
          `groups.${group}[${j}]`,
          `group "${group}" names unknown host "${m}"`,
          findKeyLine(text, `groups.${group}`),
        );
      }
    });
  }
  const tls = cfg.daemon?.tls;
  if (tls?.enabled) {
    for (const key of ['cert_path', 'key_path'] as const) {
      const p = tls[key];
      if (!p) throw new ConfigError(file, `daemon.tls.${key}`, 'is required when TLS is enabled');
      const abs = resolve(dirname(file), p);
      try {
        readFileSync(abs);
      } catch (err) {
        throw new ConfigError(file, `daemon.tls.${key}`, `cannot read ${abs}: ${(err as Error).message}`);
      }
    }
  }
  const watchdog = cfg.daemon?.worker_watchdog_s;
  if (watchdog !== undefined && watchdog > 0 && watchdog < MIN_WORKER_WATCHDOG_S) {
    // Workers report every 2 s; a shorter watchdog would replace healthy ones.
    throw new ConfigError(file, 'daemon.worker_watchdog_s', `must be 0 (off) or at least ${MIN_WORKER_WATCHDOG_S}, got ${watchdog}`, findKeyLine(text, 'daemon.worker_watchdog_s'));
  }
  const auth = cfg.daemon?.auth;
  if (auth?.enabled && (auth.tokens ?? []).length === 0) {
    throw new ConfigError(file, 'daemon.auth.tokens', 'auth is enabled but no tokens are configured');
  }
  crossCheckCluster(cfg, file, text);
}

function crossCheckCluster(cfg: ConfigFile, file: string, text: string): void {
  const c = cfg.cluster;
  if (!c) return;
  const err = (key: string, problem: string) => new ConfigError(file, `cluster.${key}`, problem, findKeyLine(text, `cluster.${key}`));
  if (c.enabled && (c.servers ?? []).length === 0) throw err('servers', 'must name at least one NATS server when the cluster is enabled');
  const kinds = [c.token !== undefined && 'token', (c.user !== undefined || c.password !== undefined) && 'user', c.nkey_seed_file !== undefined && 'nkey_seed_file'].filter(Boolean);
  if (kinds.length > 1) throw err(String(kinds[1]), `cannot be set together with cluster.${kinds[0]} (one kind of credentials)`);
  if (c.user !== undefined && c.password === undefined) throw err('password', 'is required with cluster.user');
  if (c.password !== undefined && c.user === undefined) throw err('user', 'is required with cluster.password');
  for (const key of ['nkey_seed_file', 'tls_ca_file'] as const) {
    const p = c[key];
    if (p === undefined) continue;
    const abs = resolve(dirname(file), p);
    try {
      readFileSync(abs);
    } catch (e) {
      throw err(key, `cannot read ${abs}: ${(e as Error).message}`);
    }
  }
  if (c.enabled && c.node_id === undefined && !new RegExp(NODE_ID_PATTERN).test(hostname())) {
    throw err('node_id', `is required: the hostname "${hostname()}" is not a usable node id (${NODE_ID_PATTERN})`);
  }
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

const MIN_WORKER_WATCHDOG_S = 5;

const LOG_LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function applyDefaults(cfg: ConfigFile, file: string, env: NodeJS.ProcessEnv): Config {
  const d = cfg.daemon ?? {};
  const baseDir = dirname(file);
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));

  const bindText = env.TENDHOST_BIND ?? d.bind ?? '127.0.0.1:8080';
  const bind = parseBind(bindText, file, env.TENDHOST_BIND ? 'TENDHOST_BIND' : 'daemon.bind');
  const logLevel = (env.TENDHOST_LOG_LEVEL ?? d.log_level ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(file, 'TENDHOST_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const stateDir = rel(env.TENDHOST_STATE_DIR ?? d.state_dir ?? './state');
  const defaults = cfg.defaults ?? {};
  const ssh = d.ssh ?? {};
  const ops = d.operations ?? {};

  const hosts: ResolvedHost[] = (cfg.host ?? []).map((h) => resolveHost(h, defaults, rel));

  return {
    file,
    daemon: {
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
    },
    workers: {
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
    },
    defaults: { ...defaults, ...(defaults.ssh_key ? { ssh_key: rel(defaults.ssh_key) } : {}) },
    groups: cfg.groups ?? {},
    hosts,
    audit: {
      enabled: cfg.audit?.enabled ?? false,
      file: rel(cfg.audit?.file ?? resolve(stateDir, 'audit.log')),
      syslog: cfg.audit?.syslog ?? false,
      webhook: cfg.audit?.webhook ?? null,
    },
    cluster: resolveCluster(cfg, rel),
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

/** Group membership per host name, from the `[groups]` table. */
export function groupsByHost(groups: Record<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [g, members] of Object.entries(groups)) {
    for (const m of members) {
      const list = out.get(m);
      if (list) list.push(g);
      else out.set(m, [g]);
    }
  }
  return out;
}
