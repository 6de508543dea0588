// Opens one ssh2 Client to a host and turns every way that can fail into a
// typed TendhostError naming the host and its address. The connection
// manager (ssh.ts) decides when to call this; this file only knows how.
import { loadSsh2 } from './ssh2-module.js';
import type { Client as SshClient, ConnectConfig } from 'ssh2';
import { TendhostError } from '../../common/errors.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { SshAuthMethod } from './ssh-keys.js';

export interface OpenOptions {
  host: ResolvedHost;
  auth: SshAuthMethod[];
  connectTimeoutMs: number;
  keepaliveMs: number;
  /** Key types known for this host: negotiated first so the server shows the key we have on file. */
  knownKeyTypes: string[];
  /** Decide on the presented raw host key blob: null accepts, an error refuses (and is what we throw). */
  verifyHostKey: ((blob: Buffer) => TendhostError | null) | null;
}

const RSA_ALGOS = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const HOST_KEY_ALGOS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': RSA_ALGOS,
};

/** `web1 (deploy@10.0.0.5:22)`: every message says which host and where. */
export function describeHost(host: ResolvedHost): string {
  return `${host.name} (${host.user}@${host.addr}:${host.port})`;
}

/** Resolves once authenticated; the client then belongs to the caller. */
export function openConnection(o: OpenOptions): Promise<SshClient> {
  const { host } = o;
  return new Promise((resolve, reject) => {
    const client = new (loadSsh2().ssh2.Client)();
    let hostKeyError: TendhostError | null = null;
    let settled = false;
    // ssh2's readyTimeout covers TCP connect + key exchange + auth; this guard
    // only catches a path that would emit neither ready nor error.
    const guard = setTimeout(() => {
      const e = Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' });
      fail(e);
    }, o.connectTimeoutMs + 2_000);

    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      client.destroy();
      reject(hostKeyError ?? mapConnectError(err, host, o.connectTimeoutMs));
    };
    // These listeners stay for the client's life: after `ready` they are
    // no-ops, and an 'error' with no listener would crash the worker.
    client.on('error', (err: Error & { level?: string }) => {
      // An agent that cannot be reached, or a key that cannot sign, is
      // reported by ssh2 and then it moves on to the next method.
      if (err.level === 'agent' || err.message.startsWith('Error while signing')) return;
      fail(err);
    });
    client.on('close', () => fail(new Error('connection closed during the handshake')));
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      resolve(client);
    });

    const config = connectConfig(o, (e) => (hostKeyError = e));
    try {
      client.connect(config);
      // ssh2 leaves Nagle on: each small request then waits for the peer's
      // delayed ACK, ~40 ms per exec round trip on Linux.
      client.setNoDelay(true);
    } catch (err) {
      fail(err);
    }
  });
}

/** ssh2's settings for this host: our auth and timeouts, known key types first, and the host-key check (its verdict goes to `record`). */
function connectConfig(o: OpenOptions, record: (verdict: TendhostError | null) => void): ConnectConfig {
  const { host } = o;
  const preferred = o.knownKeyTypes.flatMap((t) => HOST_KEY_ALGOS[t] ?? []);
  const config: ConnectConfig = {
    host: host.addr,
    port: host.port,
    username: host.user,
    authHandler: o.auth,
    readyTimeout: o.connectTimeoutMs,
    keepaliveInterval: o.keepaliveMs,
    keepaliveCountMax: 3,
    ...(preferred.length > 0 && {
      // `remove` first: ssh2's `prepend` skips names already in the list.
      algorithms: { serverHostKey: { remove: preferred, prepend: preferred } as never },
    }),
  };
  const verify = o.verifyHostKey;
  if (verify) {
    config.hostVerifier = (blob: Buffer) => {
      let verdict: TendhostError | null;
      try {
        verdict = verify(blob);
      } catch (err) {
        // e.g. the known_hosts file cannot be written: refuse, and say why.
        verdict = new TendhostError('SSH_HOST_KEY_UNKNOWN', `${describeHost(host)}: cannot check the host key: ${(err as Error).message}`);
      }
      record(verdict);
      return verdict === null;
    };
  }
  return config;
}

const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

/** Map an ssh2 / socket error raised while connecting to the error table. */
export function mapConnectError(err: unknown, host: ResolvedHost, timeoutMs: number): TendhostError {
  if (err instanceof TendhostError) return err;
  const e = (err ?? {}) as Error & { code?: string | number; level?: string };
  const where = describeHost(host);
  const cause = e.message ?? String(err);
  const details = { host: host.name, addr: host.addr, port: host.port, cause, ...(e.code !== undefined && { errno: e.code }) };
  if (e.code === 'ECONNREFUSED') {
    return new TendhostError('SSH_CONNECTION_REFUSED', `${where}: connection refused (is sshd running on port ${host.port}?)`, details);
  }
  if (typeof e.code === 'string' && UNREACHABLE.has(e.code)) {
    return new TendhostError('SSH_UNREACHABLE', `${where}: host unreachable (${e.code})`, details);
  }
  if (e.level === 'client-timeout' || e.code === 'ETIMEDOUT') {
    return new TendhostError('SSH_TIMEOUT', `${where}: connection timed out after ${timeoutMs} ms (${cause})`, details);
  }
  if (e.level === 'client-authentication' || /All configured authentication methods failed/.test(cause)) {
    return new TendhostError('SSH_AUTH_FAILED', `${where}: authentication failed: no offered key was accepted for user ${host.user}`, details);
  }
  return new TendhostError('SSH_DISCONNECTED', `${where}: connection failed: ${cause}`, details);
}
