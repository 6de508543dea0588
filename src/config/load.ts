// Config is loaded once: find the file → parse TOML → check against the
// schema → cross-checks (duplicates, groups, windows) → apply defaults
// (defaults.ts) → freeze. Every failure is a ConfigError naming the file, the key, and the
// line when we can find it.
import { readFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve, dirname } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { Compile } from 'typebox/compile';
import { ConfigFile, NODE_ID_PATTERN } from './schema.js';
import type { Config } from '../../common/config-types.js';
import { ConfigError, describeSchemaError, findKeyLine } from './errors.js';
import { applyDefaults } from './defaults.js';
import { detachStrings } from './detach-strings.js';

export { parseBind, resolveHost } from './defaults.js';

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

/** Called as each loading stage ends (read, parse, validate, resolve): start-up reports where its time went. */
export type StageLap = (stage: string) => void;

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, lap: StageLap = () => {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, null, `cannot read: ${(err as Error).message}`);
  }
  lap('config_read');
  return parseConfig(text, file, env, lap);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, lap: StageLap = () => {}): Config {
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
  lap('config_parse');
  if (!checkConfigFile.Check(raw)) {
    const first = describeSchemaError(ConfigFile, raw, [...checkConfigFile.Errors(raw)]);
    throw new ConfigError(file, first.key, first.message, findKeyLine(text, first.key));
  }
  const cfg = raw as ConfigFile;
  crossCheck(cfg, file, text);
  lap('config_validate');
  const config = Object.freeze(applyDefaults(cfg, file, env)) as Config;
  lap('config_resolve');
  return config;
}

const MIN_WORKER_WATCHDOG_S = 5;

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
