// A real nats-server (Debian's `nats-server`) with JetStream for the cluster
// tests: loopback only, a port of its own (-p -1: the server picks a free one,
// read back from its log), a temp store dir, stopped by pid. Missing
// nats-server fails under CI=true (.ci/run installs it) and skips elsewhere.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p)) ?? null;

/** tap's `skip` option: false when nats-server is here or CI demands it (then starting fails loudly). */
export function skipWithoutNats(): false | string {
  if (NATS_SERVER || process.env.CI === 'true') return false;
  return 'nats-server is not installed (apt-get install -y nats-server)';
}

export interface NatsServer {
  port: number;
  url: string;
  dir: string;
  pid(): number;
  log(): string;
  /** SIGTERM (or the given signal) and wait for the exit; `keepStore` leaves the JetStream store for a restart. */
  stop(opts?: { signal?: NodeJS.Signals; keepStore?: boolean }): Promise<void>;
  /** Stop and start again on the same port with the same store (streams and KV survive). */
  restart(opts?: { downMs?: number }): Promise<void>;
}

export interface NatsOptions {
  /** Clients must present this token. */
  token?: string;
  /** Clients must log in as this user. */
  user?: { user: string; password: string };
  /** Clients must sign with the nkey whose public key (U…) this is. */
  nkey?: string;
  /** Serve TLS only, with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
  /** nats-server's -DV: every protocol line in log() (for debugging a test). */
  trace?: boolean;
}

export async function startNats(opts: NatsOptions = {}): Promise<NatsServer> {
  if (!NATS_SERVER) throw new Error('nats-server is not installed: apt-get install -y nats-server (.ci/run does this)');
  const dir = mkdtempSync(join(tmpdir(), 'tendhost-nats-'));
  // Auth goes in a config file: on the command line the secrets would show in ps.
  const conf = join(dir, 'nats.conf');
  const auth = opts.token
    ? `authorization { token: ${JSON.stringify(opts.token)} }\n`
    : opts.user
      ? `authorization { user: ${JSON.stringify(opts.user.user)}, password: ${JSON.stringify(opts.user.password)} }\n`
      : opts.nkey
        ? `authorization { users: [ { nkey: ${JSON.stringify(opts.nkey)} } ] }\n`
        : '';
  const tls = opts.tls ? `tls { cert_file: ${JSON.stringify(opts.tls.cert)}, key_file: ${JSON.stringify(opts.tls.key)} }\n` : '';
  writeFileSync(conf, auth + tls);
  let port = -1;
  let proc: ChildProcess;
  let logText = '';

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      logText = '';
      proc = spawn(NATS_SERVER!, ['-c', conf, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'store'), ...(opts.trace ? ['-DV'] : [])], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const onData = (chunk: Buffer) => {
        logText += chunk.toString();
        const m = /Listening for client connections on [^\s]+:(\d+)/.exec(logText);
        if (m && /Server is ready/.test(logText)) {
          port = Number(m[1]);
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}) before it was ready:\n${logText}`)));
      const timer = setTimeout(() => reject(new Error(`nats-server not ready in 15 s:\n${logText}`)), 15_000);
    });

  const halt = (signal: NodeJS.Signals = 'SIGTERM') =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });

  await launch();
  return {
    get port() {
      return port;
    },
    get url() {
      return `${opts.tls ? 'tls' : 'nats'}://127.0.0.1:${port}`;
    },
    dir,
    pid: () => proc.pid!,
    log: () => logText,
    async stop(o = {}) {
      await halt(o.signal);
      if (!o.keepStore) rmSync(dir, { recursive: true, force: true });
    },
    async restart(o = {}) {
      await halt();
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await launch();
    },
  };
}
