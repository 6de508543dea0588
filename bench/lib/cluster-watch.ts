// bench/cluster's view of the event feeds: one /ws/events client per daemon,
// which hosts have finished their dry run (UpdateCompleted, or a move to
// `failed`), and each event's latency (this process's clock minus the event's
// `ts`, stamped where it was caused) split into "seen on the node that caused
// it" and "seen on another node". Everything runs on one machine, one clock.
import WebSocket from 'ws';
import type { Daemon } from '../../harness/daemon.js';

export interface Latencies {
  same: number[];
  cross: number[];
}

interface Msg {
  type: string;
  host?: string;
  ts?: string;
  to?: string;
  /** HostUpdated: the host's status, whose error says why it failed. */
  status?: { state?: string; error?: string | null; failed?: { code?: string } | null };
}

/** The hosts whose dry run has ended, since the last reset. */
export class Finished {
  readonly ok = new Set<string>();
  readonly failed = new Map<string, string>();
  #wake: Array<() => void> = [];

  get count(): number {
    return this.ok.size + this.failed.size;
  }

  see(m: Msg): void {
    if (!m.host) return;
    if (m.type === 'UpdateCompleted') this.ok.add(m.host);
    else if (m.type === 'HostStateChanged' && m.to === 'failed') {
      if (!this.failed.has(m.host)) this.failed.set(m.host, 'failed');
    } else if (m.type === 'HostUpdated' && m.status?.state === 'failed') {
      // The status that comes with the move says why (the report names the first few).
      this.failed.set(m.host, `failed ${m.status.failed?.code ?? ''}: ${m.status.error ?? ''}`);
    } else return;
    this.#notify();
  }

  /** A command refused before it ran: counted as ended, with why. */
  refuse(host: string, why: string): void {
    this.failed.set(host, why);
    this.#notify();
  }

  /** Resolves on the next host that ends (or after `ms`, so callers re-check their deadline). */
  next(ms = 1000): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = [];
    for (const f of w) f();
  }
}

/** Over the goal (p99 < 100 ms): when such events arrived shows whether they were one burst or spread out. */
const LATE_MS = 100;
/** A second with no late event ends a run of them. */
const QUIET_GAP_MS = 1000;

export class FeedWatch {
  finished = new Finished();
  latencies: Latencies = { same: [], cross: [] };
  /** Events later than LATE_MS: arrival (ms since recording began) and latency. */
  late: { at: number; ms: number }[] = [];
  #recording = false;
  #since = 0;
  readonly #sockets: WebSocket[] = [];

  get recording(): boolean {
    return this.#recording;
  }

  set recording(on: boolean) {
    if (on && !this.#recording) this.#since = Date.now();
    this.#recording = on;
  }

  /** `ownerOf(host)` names the node that runs a host (null: single daemon, everything is "same"). */
  constructor(private readonly ownerOf: (host: string) => string | null) {}

  /** Open a client on `d` (named `node`); `finishes` marks the one whose events count hosts as ended. */
  async add(node: string, d: Daemon, finishes: boolean): Promise<void> {
    const ws = new WebSocket(`ws://127.0.0.1:${d.port}/ws/events`);
    ws.on('message', (raw) => {
      const at = Date.now();
      const m = JSON.parse(String(raw)) as Msg;
      if (finishes) this.finished.see(m);
      if (!this.recording || !m.host || !m.ts) return;
      const owner = this.ownerOf(m.host);
      const latency = at - Date.parse(m.ts);
      (owner === null || owner === node ? this.latencies.same : this.latencies.cross).push(latency);
      if (latency > LATE_MS) this.late.push({ at: at - this.#since, ms: latency });
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    this.#sockets.push(ws);
  }

  reset(): void {
    this.finished = new Finished();
    this.latencies = { same: [], cross: [] };
    this.late = [];
  }

  /**
   * The events later than the goal: how many arrived in the opening run (from
   * the first late one until a second passes with none — a rollout's start,
   * when every host of its batch changes state at once), and how many later.
   */
  lateSpan(): string {
    if (this.late.length === 0) return `none over ${LATE_MS} ms`;
    const n = this.latencies.same.length + this.latencies.cross.length;
    const s = (ms: number) => `+${(ms / 1000).toFixed(1)} s`;
    let end = 1;
    while (end < this.late.length && this.late[end]!.at - this.late[end - 1]!.at <= QUIET_GAP_MS) end++;
    const run = this.late.slice(0, end);
    const rest = this.late.slice(end);
    const worst = (xs: { ms: number }[]) => xs.reduce((m, e) => Math.max(m, e.ms), 0);
    const head = `${this.late.length} of ${n} over ${LATE_MS} ms: ${run.length} in one run ${s(run[0]!.at)} to ${s(run.at(-1)!.at)} (the latest ${worst(run)} ms)`;
    if (rest.length === 0) return `${head}, none after it`;
    return `${head}; ${rest.length} after it, ${s(rest[0]!.at)} to ${s(rest.at(-1)!.at)} (the latest ${worst(rest)} ms)`;
  }

  close(): void {
    for (const ws of this.#sockets) ws.close();
  }
}

/** p50, p99 and max of a sample, in its unit. */
export function percentiles(xs: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? NaN;
  return { n: s.length, p50: at(50), p99: at(99), max: s.at(-1) ?? NaN };
}
