// One host's executor as its operations use it: the local or SSH executor
// underneath (replaced when the host's address or login changes), connection
// notices filtered to real news, and the reuse of a query's read-only output
// by the dry run that follows it in the same job.
//
// Connection events: HostConnected when the host becomes reachable (first
// connection, or the first after it was lost), HostDisconnected when it is
// lost (the host or the network dropped the session, a reconnect failed, a
// reboot took it down). Closes tendhost makes for its own housekeeping (idle
// timeout, a session slot handed to another host, shutdown) are not news: a
// fleet of 10,000 hosts would otherwise report 10,000 disconnects every idle
// period and as many reconnects on the next query.
import { TendhostError } from '../common/errors.js';
import type { ResolvedHost } from '../common/schemas/host.js';
import type { ExecOptions, ExecResult, Executor, ExecutorNotice } from './exec/types.js';
import { LocalExecutor } from './exec/local.js';
import type { SshConnectionManager } from './exec/ssh.js';
import { CMD } from './pkg/commands.js';

/** What one host's operations use of its shard's resources: its executor and host-key acceptance (tests script these). */
export interface HostLinks {
  ssh: Pick<SshConnectionManager, 'executorFor' | 'acceptNewHostKey'>;
}

/** Connect failures: the host is not reachable (as opposed to a command that failed on it). */
const LINK_FAILURES: ReadonlySet<string> = new Set([
  'SSH_CONNECTION_REFUSED',
  'SSH_UNREACHABLE',
  'SSH_TIMEOUT',
  'SSH_AUTH_FAILED',
  'SSH_HOST_KEY_MISMATCH',
  'SSH_HOST_KEY_UNKNOWN',
]);

/**
 * Read-only commands whose output an operation may reuse: a dry run first
 * queries (apt-get -s) and then reports the upgrade it would do — the very
 * same simulation, so it is run once. Nothing else is ever reused.
 */
const REUSABLE: ReadonlySet<string> = new Set([CMD.aptSimulate]);

/** `localhost` is the daemon's own machine: run commands directly, no SSH. */
export function isLocal(host: ResolvedHost): boolean {
  return host.addr === 'localhost';
}

export class HostExecutor implements Executor {
  #host: ResolvedHost;
  readonly #links: HostLinks;
  readonly #onNotice: (n: ExecutorNotice) => void;
  /** Whether HostConnected was reported and not yet followed by HostDisconnected. */
  #linked = false;
  #raw: Executor;
  /** Outputs of REUSABLE commands kept by a query for the dry run right after it, in the same job. */
  #recorded: Map<string, ExecResult> | null = null;
  #recordedFor: string | null = null;
  #recording = false;

  constructor(host: ResolvedHost, links: HostLinks, onNotice: (n: ExecutorNotice) => void) {
    this.#host = host;
    this.#links = links;
    this.#onNotice = onNotice;
    this.#raw = this.#open();
  }

  async run(command: string, opts: ExecOptions): Promise<ExecResult> {
    const kept = this.#recorded?.get(command);
    if (kept) {
      this.#recorded!.delete(command);
      return kept;
    }
    try {
      const r = await this.#raw.run(command, opts);
      if (this.#recording && REUSABLE.has(command) && !r.timedOut && !r.truncated) (this.#recorded ??= new Map()).set(command, r);
      return r;
    } catch (err) {
      if (this.#linked && err instanceof TendhostError && LINK_FAILURES.has(err.code)) {
        this.#notice({ kind: 'disconnected', reason: err.message });
      }
      throw err;
    }
  }

  disconnect(reason: string): void {
    this.#raw.disconnect(reason);
  }

  close(): Promise<void> {
    return this.#raw.close();
  }

  /** Close the current executor and open one to the host's new address or login. */
  reconnect(host: ResolvedHost): void {
    this.#host = host;
    void this.#raw.close();
    this.#raw = this.#open();
    this.#recorded = null;
  }

  /** A query of `jobId` starts: outputs kept before are forgotten. */
  beginQuery(jobId: string | null): void {
    this.#recorded = null;
    this.#recordedFor = jobId;
  }

  /** Keep the REUSABLE outputs of the commands `fn` runs. */
  async recording<T>(fn: () => Promise<T>): Promise<T> {
    this.#recording = true;
    try {
      return await fn();
    } finally {
      this.#recording = false;
    }
  }

  /** Only a dry run straight after the query of its own job may reuse what that query saw. */
  mayReuse(dryRun: boolean, jobId: string | null): boolean {
    return dryRun && jobId !== null && jobId === this.#recordedFor;
  }

  /** Nothing recorded may be reused any more. */
  forget(): void {
    this.#recorded = null;
  }

  #open(): Executor {
    if (isLocal(this.#host)) {
      // A local "connection" is always there: announce it once.
      queueMicrotask(() => this.#notice({ kind: 'connected' }));
      return new LocalExecutor();
    }
    return this.#links.ssh.executorFor(this.#host, (n) => this.#notice(n));
  }

  #notice(n: ExecutorNotice): void {
    if (n.kind === 'connected') {
      if (this.#linked) return;
      this.#linked = true;
    } else {
      if (n.quiet || !this.#linked) return;
      this.#linked = false;
    }
    this.#onNotice(n);
  }
}
