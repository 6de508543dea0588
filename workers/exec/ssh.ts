// The SSH executor: one pooled ssh2 connection per host, owned by the shard
// worker that owns the host. This is the only place (with its ssh-*.ts
// helpers) that touches ssh2.
//
// - A connection is opened on a host's first command and kept open while it
//   is useful: closed after `idle_timeout_ms` without commands, or earlier
//   (least recently used first) when another host needs the session slot
//   (ssh-pool.ts). A drop between commands is invisible: the next run
//   reconnects. A drop during a command fails that command with SSH_DISCONNECTED.
// - Per worker, at most `max_handshakes_per_worker` handshakes run at once
//   and at most `max_sessions_per_worker` connections are open; callers past
//   either cap wait in FIFO order. Every failure path gives its slots back, and
//   every wait is bounded by someone else's timeout, so a dead host never
//   holds up the others for longer than `connect_timeout_ms`.
// - Host keys are checked against known_hosts per `host_key_policy`; a key
//   that changed quarantines the host (no connection attempts at all) until
//   the operator calls acceptNewHostKey() (ssh-host-keys.ts).
import { TendhostError } from '../../common/errors.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { ExecOptions, ExecResult, Executor, ExecutorNotice } from './types.js';
import { FifoLimiter, type Release } from './limiter.js';
import { SshKeyStore } from './ssh-keys.js';
import { describeHost, openConnection } from './ssh-connection.js';
import { hostKeyPolicyWarning } from '../../common/host-key-policy.js';
import { CHANNEL_NOT_OPENED, execOnClient } from './ssh-channel.js';
import { connectChannel, errorChannel, type Conn, type HostSlot, type SshSettings } from './ssh-conn.js';
import { HostKeyGuard, type HostKeyQuarantine } from './ssh-host-keys.js';
import { SshConnectionPool } from './ssh-pool.js';

export type { SshSettings } from './ssh-conn.js';
export type { HostKeyQuarantine } from './ssh-host-keys.js';

export interface SshStats {
  /** Connections open or being opened (each holds a session slot). */
  sessions_open: number;
  handshakes_in_flight: number;
  /** Callers waiting for a session or handshake slot. */
  queued: number;
}

const SUDO_FAILURE = /sudo: (a password is required|a terminal is required)/;
/** Root detection is a tiny command; do not let it eat a long operation's budget. */
const ID_TIMEOUT_MS = 15_000;

export class SshConnectionManager {
  readonly #settings: SshSettings;
  readonly #keys: SshKeyStore;
  readonly #hostKeys: HostKeyGuard;
  readonly #handshakes: FifoLimiter;
  readonly #pool: SshConnectionPool;
  readonly #hosts = new Map<string, HostSlot>();
  #closed = false;

  constructor(settings: SshSettings) {
    this.#settings = settings;
    this.#keys = new SshKeyStore(settings.key_passphrase);
    this.#hostKeys = new HostKeyGuard(settings);
    this.#handshakes = new FifoLimiter(settings.max_handshakes_per_worker);
    this.#pool = new SshConnectionPool(settings);
  }

  /** The warning the daemon logs at startup, or null when host keys are checked. */
  hostKeyPolicyWarning(): string | null {
    return hostKeyPolicyWarning(this.#settings.host_key_policy);
  }

  /** The executor for one host. Calling it again for the same name replaces the host's settings. */
  executorFor(host: ResolvedHost, onNotice: (n: ExecutorNotice) => void = () => {}): Executor {
    const s = this.#slotFor(host, onNotice);
    let closed = false;
    return {
      run: (command, opts) => {
        if (closed || s.retired) {
          return Promise.reject(new TendhostError('SSH_DISCONNECTED', `${describeHost(s.host)}: executor is closed`));
        }
        return this.#run(s, command, opts);
      },
      disconnect: (reason) => {
        if (s.conn) this.#pool.closeConn(s, s.conn, reason);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        if (this.#hosts.get(s.host.name) === s) this.#hosts.delete(s.host.name);
        s.retired = true;
        const conn = s.conn;
        if (conn) {
          this.#pool.closeConn(s, conn, 'executor closed', true);
          await conn.closed;
        }
      },
    };
  }

  /** Replace the known_hosts entry with the key the host presented and lift its quarantine. */
  acceptNewHostKey(hostName: string): boolean {
    const slot = this.#hosts.get(hostName);
    return slot ? this.#hostKeys.accept(slot, this.#hosts.values()) : false;
  }

  isQuarantined(hostName: string): HostKeyQuarantine | null {
    const q = this.#hosts.get(hostName)?.quarantine;
    return q ? { expected: q.expected[0] ?? '', presented: q.presented } : null;
  }

  stats(): SshStats {
    return {
      sessions_open: this.#pool.active,
      handshakes_in_flight: this.#handshakes.active,
      queued: this.#pool.pending + this.#handshakes.pending,
    };
  }

  /** Close every connection; waiting and later runs fail with SSH_DISCONNECTED. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const err = new TendhostError('SSH_DISCONNECTED', 'ssh connection manager is closed');
    this.#handshakes.destroy(err);
    // The pool fails its waiters first, so the slots freed below go to no one.
    const waits = this.#pool.close(err);
    for (const slot of this.#hosts.values()) {
      slot.retired = true;
      if (slot.conn) this.#pool.closeConn(slot, slot.conn, 'daemon shutting down', true);
    }
    this.#hosts.clear();
    await Promise.all(waits);
  }

  /** The host's slot, created or updated; a new address, port, user or key closes the old connection. */
  #slotFor(host: ResolvedHost, onNotice: (n: ExecutorNotice) => void): HostSlot {
    const slot = this.#hosts.get(host.name);
    if (!slot) {
      const created: HostSlot = { host, onNotice, conn: null, connecting: null, isRoot: undefined, quarantine: null, retired: false };
      this.#hosts.set(host.name, created);
      return created;
    }
    const h = slot.host;
    if (h.addr !== host.addr || h.port !== host.port || h.user !== host.user || h.ssh_key !== host.ssh_key) {
      if (slot.conn) this.#pool.closeConn(slot, slot.conn, 'host settings changed', true);
      slot.isRoot = undefined;
      if (h.addr !== host.addr || h.port !== host.port) slot.quarantine = null;
    }
    slot.host = host;
    slot.onNotice = onNotice;
    return slot;
  }

  // ---------------------------------------------------------------- running

  async #run(slot: HostSlot, command: string, opts: ExecOptions): Promise<ExecResult> {
    const where = describeHost(slot.host);
    // A connection that dropped unnoticed (no FIN yet) fails to open a
    // channel: nothing ran, so one retry on a fresh connection is safe.
    for (let attempt = 0; ; attempt++) {
      const conn = await this.#lease(slot);
      try {
        let line = command;
        let sudo = false;
        if (opts.root && slot.host.user !== 'root') {
          slot.isRoot ??= await this.#detectRoot(slot, conn, opts);
          if (!slot.isRoot) {
            line = `sudo -n ${command}`;
            sudo = true;
          }
        }
        const result = await this.#exec(conn, line, opts, where);
        // `-n` makes sudo fail instead of prompting; say what to fix.
        if (sudo && result.exitCode !== 0 && SUDO_FAILURE.test(result.stderr)) {
          throw new TendhostError(
            'SUDO_PASSWORD_REQUIRED',
            `sudo needs a password for ${slot.host.user}@${slot.host.name}; allow it passwordless (NOPASSWD) or log in as root`,
            { host: slot.host.name, user: slot.host.user, stderr: result.stderr.slice(0, 500) },
          );
        }
        return result;
      } catch (err) {
        if (attempt === 0 && err instanceof TendhostError && err.details?.[CHANNEL_NOT_OPENED]) {
          this.#pool.closeConn(slot, conn, 'channel could not be opened');
          continue;
        }
        throw err;
      } finally {
        this.#pool.release(slot, conn);
      }
    }
  }

  async #detectRoot(slot: HostSlot, conn: Conn, opts: ExecOptions): Promise<boolean> {
    const r = await this.#exec(conn, 'id -u', { timeoutMs: Math.min(opts.timeoutMs, ID_TIMEOUT_MS), maxOutputBytes: 4096 }, describeHost(slot.host));
    return r.exitCode === 0 && r.stdout.trim() === '0';
  }

  async #exec(conn: Conn, line: string, opts: ExecOptions, where: string): Promise<ExecResult> {
    const run = execOnClient(conn.client, line, opts, where);
    conn.inflight.add(run.fail);
    try {
      return await run.result;
    } finally {
      conn.inflight.delete(run.fail);
    }
  }

  // ------------------------------------------------------------ connections

  /** The host's open connection (opening it if needed), held until the pool's release. */
  async #lease(slot: HostSlot): Promise<Conn> {
    for (;;) {
      if (this.#closed || slot.retired) throw new TendhostError('SSH_DISCONNECTED', `${describeHost(slot.host)}: executor is closed`);
      if (slot.quarantine) throw this.#hostKeys.mismatchError(slot);
      const open = slot.conn;
      if (open && open.closeReason === null) {
        this.#pool.take(slot, open);
        return open;
      }
      // Concurrent runs on one host share a single connection attempt.
      slot.connecting ??= this.#connect(slot).finally(() => {
        slot.connecting = null;
      });
      await slot.connecting;
    }
  }

  async #connect(slot: HostSlot): Promise<Conn> {
    const host = slot.host;
    // Key problems are configuration errors: report them before queueing.
    const auth = this.#keys.authMethods(host.user, host.ssh_key, this.#settings.default_key);
    const releaseSession = await this.#pool.sessionSlot();
    let releaseHandshake: Release | null = null;
    try {
      releaseHandshake = await this.#handshakes.acquire();
      if (slot.quarantine) throw this.#hostKeys.mismatchError(slot);
      const started = performance.now();
      if (connectChannel.hasSubscribers) connectChannel.publish({ host: host.name, addr: host.addr, port: host.port, phase: 'start' });
      const client = await openConnection({
        host,
        auth,
        connectTimeoutMs: this.#settings.connect_timeout_ms,
        keepaliveMs: this.#settings.keepalive_ms,
        knownKeyTypes: this.#hostKeys.knownTypes(slot),
        verifyHostKey: this.#hostKeys.verifierFor(slot),
      });
      releaseHandshake();
      if (connectChannel.hasSubscribers) {
        connectChannel.publish({ host: host.name, addr: host.addr, port: host.port, phase: 'ready', duration_ms: performance.now() - started });
      }
      return this.#pool.adopt(slot, client, releaseSession);
    } catch (err) {
      releaseHandshake?.();
      releaseSession();
      if (err instanceof TendhostError && errorChannel.hasSubscribers) {
        errorChannel.publish({ host: host.name, code: err.code, message: err.message });
      }
      throw err;
    }
  }
}
