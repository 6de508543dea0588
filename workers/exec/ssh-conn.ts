// What the SSH executor keeps per host and per open connection, shared by the
// manager (ssh.ts), its connection pool (ssh-pool.ts) and its host-key guard
// (ssh-host-keys.ts), so none of them has to import another for a type.
import diagnostics from 'node:diagnostics_channel';
import type { Client as SshClient } from 'ssh2';
import type { TendhostError } from '../../common/errors.js';
import type { DaemonSettingsForWorkers } from '../../common/config-types.js';
import type { ResolvedHost } from '../../common/schemas/host.js';
import type { ExecutorNotice } from './types.js';
import type { Release } from './limiter.js';

export type SshSettings = DaemonSettingsForWorkers['ssh'];

/** `{ host, addr, port, phase: 'start' | 'ready', duration_ms? }` */
export const connectChannel = diagnostics.channel('tendhost:ssh:connect');
/** `{ host, code, message }` for every connect failure. */
export const errorChannel = diagnostics.channel('tendhost:ssh:error');
/** `{ host, reason }` when a connection closes. */
export const disconnectChannel = diagnostics.channel('tendhost:ssh:disconnect');

export interface Conn {
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

export interface HostSlot {
  host: ResolvedHost;
  onNotice: (n: ExecutorNotice) => void;
  conn: Conn | null;
  connecting: Promise<Conn> | null;
  /** Login user is root (cached after one `id -u`). */
  isRoot: boolean | undefined;
  quarantine: { expected: string[]; presented: string; blob: Buffer } | null;
  retired: boolean;
}

/** A notice callback that throws must not break the connection bookkeeping. */
export function notify(slot: HostSlot, n: ExecutorNotice): void {
  try {
    slot.onNotice(n);
  } catch {
    // the actor's problem, not ours
  }
}
