// The SSH executor: one pooled ssh2 connection per host, owned by the shard
// worker that owns the host. This is the only place (with its ssh-*.ts
// helpers) that touches ssh2.
//
// - A connection is opened on a host's first command and kept open while it
//   is useful: closed after `idle_timeout_ms` without commands, or earlier
//   (least recently used first) when another host needs the session slot.
//   A drop between commands is invisible: the next run reconnects. A drop
//   during a command fails that command with SSH_DISCONNECTED.
// - Per worker, at most `max_handshakes_per_worker` handshakes run at once
//   and at most `max_sessions_per_worker` connections are open; callers past
//   either cap wait in FIFO order. Every failure path gives its slots back, and
//   every wait is bounded by someone else's timeout, so a dead host never
//   holds up the others for longer than `connect_timeout_ms`.
// - Host keys are checked against known_hosts per `host_key_policy`; a key
//   that changed quarantines the host (no connection attempts at all) until
//   the operator calls acceptNewHostKey().
import diagnostics from 'node:diagnostics_channel';
import type { Client as SshClient } from 'ssh2';
import { TendhostError } from '../../common/errors.js';
import type { DaemonSettingsForWorkers } from '../../common/config-types.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { ExecOptions, ExecResult, Executor, ExecutorNotice } from './types.js';
import { FifoLimiter, type Release } from './limiter.js';
import { KnownHostsFile, fingerprint, keyTypeOf } from './known-hosts.js';
import { SshKeyStore } from './ssh-keys.js';
import { describeHost, openConnection } from './ssh-connection.js';
import { hostKeyPolicyWarning } from '../../common/host-key-policy.js';
import { CHANNEL_NOT_OPENED, execOnClient } from './ssh-channel.js';

export type SshSettings = DaemonSettingsForWorkers['ssh'];

export interface SshStats {
  /** Connections open or being opened (each holds a session slot). */
  sessions_open: number;
  handshakes_in_flight: number;
  /** Callers waiting for a session or handshake slot. */
  queued: number;
}

export interface HostKeyQuarantine {
  /** Fingerprint on file (same key type as presented when there is one). */
  expected: string;
  presented: string;
}

/** `{ host, addr, port, phase: 'start' | 'ready', duration_ms? }` */
export const connectChannel = diagnostics.channel('tendhost:ssh:connect');
/** `{ host, code, message }` for every connect failure. */
export const errorChannel = diagnostics.channel('tendhost:ssh:error');
/** `{ host, reason }` when a connection closes. */
export const disconnectChannel = diagnostics.channel('tendhost:ssh:disconnect');

/**
 * How long a connection stays open after a command when other hosts wait for
 * its session slot. An operation runs several commands back to back (detect,
 * list, simulate): closing between them would make the host queue again for
 * every command and reconnect each time (10,000 hosts behind a cap of 8,000
 * made three handshakes per host). A host with nothing more to run gives its
 * slot up after this.
 */
const SESSION_LINGER_MS = 200;

const SUDO_FAILURE = /sudo: (a password is required|a terminal is required)/;
/** Root detection is a tiny command; do not let it eat a long operation's budget. */
const ID_TIMEOUT_MS = 15_000;

interface Conn {
  client: SshClient;
  releaseSession: Release;
  /** Runs holding this connection (a leased connection is never evicted). */
  leases: number;
  idleTimer: NodeJS.Timeout | null;
  /** performance.now() when the last lease ended. */
  idleSince: number;
  inflight: Set<(err: TendhostError) => void>;
  /** Set once we decided to close it; the next run opens a new one. */
  closeReason: string | null;
  /** Closed by our own housekeeping (idle, slot reuse, shutdown): not news for the operator. */
  quiet: boolean;
  lastError: string | null;
  closed: Promise<void>;
}

interface HostSlot {
  host: ResolvedHost;
  onNotice: (n: ExecutorNotice) => void;
  conn: Conn | null;
  connecting: Promise<Conn> | null;
  /** Login user is root (cached after one `id -u`). */
  isRoot: boolean | undefined;
  quarantine: { expected: string[]; presented: string; blob: Buffer } | null;
  retired: boolean;
}

export class SshConnectionManager {
  readonly #settings: SshSettings;
  readonly #keys: SshKeyStore;
  readonly #knownHosts: KnownHostsFile;
  readonly #handshakes: FifoLimiter;
  readonly #sessions: FifoLimiter;
  readonly #hosts = new Map<string, HostSlot>();
  /** Idle connections, least recently used first (Map keeps insertion order). */
  readonly #idle = new Map<HostSlot, Conn>();
  readonly #open = new Set<Conn>();
  /** Closes lingering idle connections for queued hosts once they are old enough. */
  #reaper: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(settings: SshSettings) {
    this.#settings = settings;
    this.#keys = new SshKeyStore(settings.key_passphrase);
    this.#knownHosts = new KnownHostsFile(settings.known_hosts);
    this.#handshakes = new FifoLimiter(settings.max_handshakes_per_worker);
    this.#sessions = new FifoLimiter(settings.max_sessions_per_worker);
  }

  /** The warning the daemon logs at startup, or null when host keys are checked. */
  hostKeyPolicyWarning(): string | null {
    return hostKeyPolicyWarning(this.#settings.host_key_policy);
  }

  /** The executor for one host. Calling it again for the same name replaces the host's settings. */
  executorFor(host: ResolvedHost, onNotice: (n: ExecutorNotice) => void = () => {}): Executor {
    let slot = this.#hosts.get(host.name);
    if (slot) {
      const h = slot.host;
      if (h.addr !== host.addr || h.port !== host.port || h.user !== host.user || h.ssh_key !== host.ssh_key) {
        if (slot.conn) this.#closeConn(slot, slot.conn, 'host settings changed', true);
        slot.isRoot = undefined;
        if (h.addr !== host.addr || h.port !== host.port) slot.quarantine = null;
      }
      slot.host = host;
      slot.onNotice = onNotice;
    } else {
      slot = { host, onNotice, conn: null, connecting: null, isRoot: undefined, quarantine: null, retired: false };
      this.#hosts.set(host.name, slot);
    }
    const s = slot;
    let closed = false;
    return {
      run: (command, opts) => {
        if (closed || s.retired) {
          return Promise.reject(new TendhostError('SSH_DISCONNECTED', `${describeHost(s.host)}: executor is closed`));
        }
        return this.#run(s, command, opts);
      },
      disconnect: (reason) => {
        if (s.conn) this.#closeConn(s, s.conn, reason);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        if (this.#hosts.get(s.host.name) === s) this.#hosts.delete(s.host.name);
        s.retired = true;
        const conn = s.conn;
        if (conn) {
          this.#closeConn(s, conn, 'executor closed', true);
          await conn.closed;
        }
      },
    };
  }

  /** Replace the known_hosts entry with the key the host presented and lift its quarantine. */
  acceptNewHostKey(hostName: string): boolean {
    const slot = this.#hosts.get(hostName);
    const q = slot?.quarantine;
    if (!slot || !q) return false;
    this.#knownHosts.replace(slot.host.addr, slot.host.port, q.blob);
    // Hosts sharing this address and port were quarantined by the same key.
    for (const other of this.#hosts.values()) {
      if (other.host.addr === slot.host.addr && other.host.port === slot.host.port && other.quarantine?.blob.equals(q.blob)) {
        other.quarantine = null;
      }
    }
    return true;
  }

  isQuarantined(hostName: string): HostKeyQuarantine | null {
    const q = this.#hosts.get(hostName)?.quarantine;
    return q ? { expected: q.expected[0] ?? '', presented: q.presented } : null;
  }

  stats(): SshStats {
    return {
      sessions_open: this.#sessions.active,
      handshakes_in_flight: this.#handshakes.active,
      queued: this.#sessions.pending + this.#handshakes.pending,
    };
  }

  /** Close every connection; waiting and later runs fail with SSH_DISCONNECTED. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reaper) clearTimeout(this.#reaper);
    const err = new TendhostError('SSH_DISCONNECTED', 'ssh connection manager is closed');
    this.#handshakes.destroy(err);
    this.#sessions.destroy(err);
    const waits: Promise<void>[] = [];
    for (const slot of this.#hosts.values()) {
      slot.retired = true;
      if (slot.conn) this.#closeConn(slot, slot.conn, 'daemon shutting down', true);
    }
    for (const conn of this.#open) waits.push(conn.closed);
    this.#hosts.clear();
    await Promise.all(waits);
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
          this.#closeConn(slot, conn, 'channel could not be opened');
          continue;
        }
        throw err;
      } finally {
        this.#unlease(slot, conn);
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

  /** The host's open connection (opening it if needed), held until #unlease. */
  async #lease(slot: HostSlot): Promise<Conn> {
    for (;;) {
      if (this.#closed || slot.retired) throw new TendhostError('SSH_DISCONNECTED', `${describeHost(slot.host)}: executor is closed`);
      if (slot.quarantine) throw this.#mismatchError(slot);
      const open = slot.conn;
      if (open && open.closeReason === null) {
        open.leases++;
        if (open.idleTimer) clearTimeout(open.idleTimer);
        open.idleTimer = null;
        this.#idle.delete(slot);
        return open;
      }
      // Concurrent runs on one host share a single connection attempt.
      slot.connecting ??= this.#connect(slot).finally(() => {
        slot.connecting = null;
      });
      await slot.connecting;
    }
  }

  #unlease(slot: HostSlot, conn: Conn): void {
    conn.leases--;
    if (conn.leases > 0 || conn.closeReason !== null) return;
    conn.idleSince = performance.now();
    this.#idle.set(slot, conn);
    // Someone is waiting for a session slot: give this one up unless the host
    // runs its next command right away.
    conn.idleTimer =
      this.#sessions.pending > 0
        ? setTimeout(() => this.#closeConn(slot, conn, 'session slot needed by another host', true), SESSION_LINGER_MS)
        : setTimeout(() => this.#closeConn(slot, conn, 'idle', true), this.#settings.idle_timeout_ms);
    conn.idleTimer.unref?.();
  }

  async #connect(slot: HostSlot): Promise<Conn> {
    const host = slot.host;
    // Key problems are configuration errors: report them before queueing.
    const auth = this.#keys.authMethods(host.user, host.ssh_key, this.#settings.default_key);
    const releaseSession = await this.#sessionSlot();
    let releaseHandshake: Release | null = null;
    try {
      releaseHandshake = await this.#handshakes.acquire();
      if (slot.quarantine) throw this.#mismatchError(slot);
      const started = performance.now();
      if (connectChannel.hasSubscribers) connectChannel.publish({ host: host.name, addr: host.addr, port: host.port, phase: 'start' });
      const policy = this.#settings.host_key_policy;
      const client = await openConnection({
        host,
        auth,
        connectTimeoutMs: this.#settings.connect_timeout_ms,
        keepaliveMs: this.#settings.keepalive_ms,
        knownKeyTypes: policy === 'off' ? [] : this.#knownHosts.knownTypes(host.addr, host.port),
        verifyHostKey: policy === 'off' ? null : (blob) => this.#verifyHostKey(slot, blob),
      });
      releaseHandshake();
      if (connectChannel.hasSubscribers) {
        connectChannel.publish({ host: host.name, addr: host.addr, port: host.port, phase: 'ready', duration_ms: performance.now() - started });
      }
      return this.#adopt(slot, client, releaseSession);
    } catch (err) {
      releaseHandshake?.();
      releaseSession();
      if (err instanceof TendhostError && errorChannel.hasSubscribers) {
        errorChannel.publish({ host: host.name, code: err.code, message: err.message });
      }
      throw err;
    }
  }

  /**
   * A session slot. When all are taken, the least recently used idle
   * connection is closed for it — once it has been idle for SESSION_LINGER_MS,
   * so a host between two commands of one operation keeps its connection.
   */
  #sessionSlot(): Promise<Release> {
    const now = this.#sessions.tryAcquire();
    if (now) return Promise.resolve(now);
    if (this.#evictIdle()) {
      const freed = this.#sessions.tryAcquire();
      if (freed) return Promise.resolve(freed);
    }
    const waiting = this.#sessions.acquire();
    this.#scheduleReaper();
    return waiting;
  }

  /** Close the least recently used idle connection if it lingered long enough (its slot goes to the next waiter). */
  #evictIdle(): boolean {
    const lru = this.#idle.entries().next();
    if (lru.done) return false;
    const [slot, conn] = lru.value;
    if (performance.now() - conn.idleSince < SESSION_LINGER_MS) return false;
    this.#closeConn(slot, conn, 'session slot needed by another host', true);
    return true;
  }

  /** While hosts wait for a session slot, hand them idle connections' slots as those age past the linger. */
  #scheduleReaper(): void {
    if (this.#reaper || this.#closed) return;
    const lru = this.#idle.values().next();
    if (lru.done) return; // every slot is in use: a slot frees when a lease ends (#unlease)
    const delay = Math.max(0, lru.value.idleSince + SESSION_LINGER_MS - performance.now());
    this.#reaper = setTimeout(() => {
      this.#reaper = null;
      while (this.#sessions.pending > 0 && this.#evictIdle()) {
        // each close hands its slot to the next waiter
      }
      if (this.#sessions.pending > 0) this.#scheduleReaper();
    }, delay);
    this.#reaper.unref?.();
  }

  #adopt(slot: HostSlot, client: SshClient, releaseSession: Release): Conn {
    let resolveClosed!: () => void;
    const conn: Conn = {
      client,
      releaseSession,
      leases: 0,
      idleTimer: null,
      idleSince: performance.now(),
      inflight: new Set(),
      closeReason: null,
      quiet: false,
      lastError: null,
      closed: new Promise((r) => (resolveClosed = r)),
    };
    this.#open.add(conn);
    client.on('error', (err: Error) => {
      conn.lastError = err.message;
    });
    // 'close' comes for every ending: ours, the server's, a reset, a keepalive timeout.
    client.on('close', () => {
      this.#open.delete(conn);
      if (conn.idleTimer) clearTimeout(conn.idleTimer);
      if (this.#idle.get(slot) === conn) this.#idle.delete(slot);
      if (slot.conn === conn) slot.conn = null;
      conn.releaseSession();
      const reason = conn.closeReason ?? (conn.lastError ? `connection lost: ${conn.lastError}` : 'connection closed by the remote host');
      const err = new TendhostError('SSH_DISCONNECTED', `${describeHost(slot.host)}: ${reason}`, { host: slot.host.name, reason });
      for (const fail of conn.inflight) fail(err);
      if (disconnectChannel.hasSubscribers) disconnectChannel.publish({ host: slot.host.name, reason });
      notify(slot, conn.quiet ? { kind: 'disconnected', reason, quiet: true } : { kind: 'disconnected', reason });
      resolveClosed();
    });
    if (this.#closed || slot.retired) {
      this.#closeConn(slot, conn, 'executor closed', true);
      return conn;
    }
    slot.conn = conn;
    notify(slot, { kind: 'connected' });
    return conn;
  }

  /**
   * Close on purpose. Its session slot is free at once; notices follow on
   * 'close'. `quiet`: our own housekeeping, which the host never notices.
   */
  #closeConn(slot: HostSlot, conn: Conn, reason: string, quiet = false): void {
    if (conn.closeReason !== null) return;
    conn.closeReason = reason;
    conn.quiet = quiet;
    if (slot.conn === conn) slot.conn = null;
    if (this.#idle.get(slot) === conn) this.#idle.delete(slot);
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.releaseSession();
    conn.client.end();
    // end() waits for the server; a dead peer would leave the socket hanging.
    setTimeout(() => conn.client.destroy(), 2_000).unref();
  }

  // --------------------------------------------------------------- host keys

  #verifyHostKey(slot: HostSlot, blob: Buffer): TendhostError | null {
    const { host } = slot;
    const check = this.#knownHosts.check(host.addr, host.port, blob);
    if (check.status === 'known') return null;
    const presented = fingerprint(blob);
    if (check.status === 'unknown') {
      if (this.#settings.host_key_policy === 'accept-new') {
        this.#knownHosts.add(host.addr, host.port, blob);
        return null;
      }
      return new TendhostError(
        'SSH_HOST_KEY_UNKNOWN',
        `${describeHost(host)}: host key ${keyTypeOf(blob)} ${presented} is not in ${this.#settings.known_hosts} and host_key_policy is "strict"; add it (ssh-keyscan -p ${host.port} ${host.addr}) or use "accept-new"`,
        { host: host.name, addr: host.addr, port: host.port, presented_fingerprint: presented },
      );
    }
    slot.quarantine = { expected: check.expected, presented, blob };
    return this.#mismatchError(slot);
  }

  #mismatchError(slot: HostSlot): TendhostError {
    const q = slot.quarantine!;
    const { host } = slot;
    const expected = q.expected[0] ?? '';
    return new TendhostError(
      'SSH_HOST_KEY_MISMATCH',
      `${describeHost(host)}: host key changed: expected ${expected}, presented ${q.presented}; refusing to connect (possible man-in-the-middle) until the new key is accepted`,
      { host: host.name, addr: host.addr, port: host.port, expected_fingerprint: expected, presented_fingerprint: q.presented },
    );
  }
}

/** A notice callback that throws must not break the connection bookkeeping. */
function notify(slot: HostSlot, n: ExecutorNotice): void {
  try {
    slot.onNotice(n);
  } catch {
    // the actor's problem, not ours
  }
}
