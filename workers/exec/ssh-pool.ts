// The SSH executor's open connections and their session slots, apart from
// running commands: at most `max_sessions_per_worker` connections are open,
// an idle one closes after `idle_timeout_ms`, and when hosts wait for a slot
// the least recently used idle connection gives its slot up once it has
// lingered SESSION_LINGER_MS. Every close path gives the slot back.
import type { Client as SshClient } from 'ssh2';
import { TendhostError } from '../../common/errors.js';
import { FifoLimiter, type Release } from './limiter.js';
import { describeHost } from './ssh-connection.js';
import { disconnectChannel, notify, type Conn, type HostSlot, type SshSettings } from './ssh-conn.js';

/**
 * How long a connection stays open after a command when other hosts wait for
 * its session slot. An operation runs several commands back to back (detect,
 * list, simulate): closing between them would make the host queue again for
 * every command and reconnect each time (10,000 hosts behind a cap of 8,000
 * made three handshakes per host). A host with nothing more to run gives its
 * slot up after this.
 */
const SESSION_LINGER_MS = 200;

export class SshConnectionPool {
  readonly #settings: SshSettings;
  readonly #sessions: FifoLimiter;
  /** Idle connections, least recently used first (Map keeps insertion order). */
  readonly #idle = new Map<HostSlot, Conn>();
  readonly #open = new Set<Conn>();
  /** Closes lingering idle connections for queued hosts once they are old enough. */
  #reaper: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(settings: SshSettings) {
    this.#settings = settings;
    this.#sessions = new FifoLimiter(settings.max_sessions_per_worker);
  }

  /** Connections open or being opened. */
  get active(): number {
    return this.#sessions.active;
  }

  /** Callers waiting for a session slot. */
  get pending(): number {
    return this.#sessions.pending;
  }

  /**
   * A session slot. When all are taken, the least recently used idle
   * connection is closed for it — once it has been idle for SESSION_LINGER_MS,
   * so a host between two commands of one operation keeps its connection.
   */
  sessionSlot(): Promise<Release> {
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

  /** A run takes the connection: it is no longer idle. */
  take(slot: HostSlot, conn: Conn): void {
    conn.leases++;
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimer = null;
    this.#idle.delete(slot);
  }

  /** A run gives the connection back; the last one makes it idle. */
  release(slot: HostSlot, conn: Conn): void {
    conn.leases--;
    if (conn.leases > 0 || conn.closeReason !== null) return;
    conn.idleSince = performance.now();
    this.#idle.set(slot, conn);
    // Someone is waiting for a session slot: give this one up unless the host
    // runs its next command right away.
    conn.idleTimer =
      this.#sessions.pending > 0
        ? setTimeout(() => this.closeConn(slot, conn, 'session slot needed by another host', true), SESSION_LINGER_MS)
        : setTimeout(() => this.closeConn(slot, conn, 'idle', true), this.#settings.idle_timeout_ms);
    conn.idleTimer.unref?.();
  }

  /** Track a freshly opened client as the host's connection (closed at once if the host or pool is gone). */
  adopt(slot: HostSlot, client: SshClient, releaseSession: Release): Conn {
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
      this.#forget(slot, conn);
      resolveClosed();
    });
    if (this.#closed || slot.retired) {
      this.closeConn(slot, conn, 'executor closed', true);
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
  closeConn(slot: HostSlot, conn: Conn, reason: string, quiet = false): void {
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

  /** Fail the waiters with `err`; the returned promises settle as the open connections close. */
  close(err: TendhostError): Promise<void>[] {
    this.#closed = true;
    if (this.#reaper) clearTimeout(this.#reaper);
    this.#sessions.destroy(err);
    return [...this.#open].map((conn) => conn.closed);
  }

  /** The connection has closed (for whatever reason): free its slot and fail what ran on it. */
  #forget(slot: HostSlot, conn: Conn): void {
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
  }

  /** Close the least recently used idle connection if it lingered long enough (its slot goes to the next waiter). */
  #evictIdle(): boolean {
    const lru = this.#idle.entries().next();
    if (lru.done) return false;
    const [slot, conn] = lru.value;
    if (performance.now() - conn.idleSince < SESSION_LINGER_MS) return false;
    this.closeConn(slot, conn, 'session slot needed by another host', true);
    return true;
  }

  /** While hosts wait for a session slot, hand them idle connections' slots as those age past the linger. */
  #scheduleReaper(): void {
    if (this.#reaper || this.#closed) return;
    const lru = this.#idle.values().next();
    if (lru.done) return; // every slot is in use: a slot frees when a lease ends (release)
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
}
