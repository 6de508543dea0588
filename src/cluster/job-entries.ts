// A coordinator's copy of its job's host entries in the log (job-log.ts),
// and its writes to them: in order per host, each over the revision it last
// saw (compare-and-set), none once the coordinator is fenced. An entry
// another writer got to first (the host's owner, a newer coordinator) is read
// back, never overwritten.
import type { JobHostResult } from '../../common/schemas/job.js';
import { isWrongRevision } from './buckets.js';
import type { JobLog, Versioned } from './job-log.js';
import type { ClusterJobHostEntry } from './job-log-schema.js';

type Entry = Versioned<ClusterJobHostEntry | null>;

const FINAL = new Set<JobHostResult['state']>(['completed', 'failed', 'unreachable', 'skipped']);

export function isFinal(state: JobHostResult['state']): boolean {
  return FINAL.has(state);
}

export class JobEntries {
  readonly #known = new Map<string, Entry>();
  /** Hosts whose entry is a running claim: what a sweep looks at, rather than every host of the job each tick. */
  readonly #running = new Set<string>();
  readonly #writes = new Map<string, Promise<void>>();

  /** `fenced`: the coordinator lost the job (no more writes); `warn`: where a failed write is reported. */
  constructor(
    private readonly log: JobLog,
    private readonly jobId: string,
    private readonly fenced: () => boolean,
    private readonly warn: ((err: Error) => void) | undefined,
    known: ReadonlyMap<string, Entry>,
  ) {
    for (const [h, v] of known) this.#set(h, v);
  }

  /** Every entry known so far, by host. */
  get known(): ReadonlyMap<string, Entry> {
    return this.#known;
  }

  /** Hosts whose known entry is a running claim. */
  get running(): ReadonlySet<string> {
    return this.#running;
  }

  get(host: string): Entry | undefined {
    return this.#known.get(host);
  }

  /** Keep `v` unless a revision as new is already known: false when it was not news. */
  accept(host: string, v: Entry): boolean {
    const prev = this.#known.get(host);
    if (prev && prev.revision >= v.revision) return false;
    this.#set(host, v);
    return true;
  }

  /** Every write queued so far has settled. */
  async drained(): Promise<void> {
    await Promise.all(this.#writes.values());
  }

  /** Record a final result the rollout decided (read when the write runs), unless the log already says the same. */
  record(h: JobHostResult): void {
    this.#chain(h.host, async () => {
      if (!FINAL.has(h.state)) return;
      for (let attempt = 0; attempt < 3; attempt++) {
        const known = this.#known.get(h.host);
        const e = known?.value;
        if (e && FINAL.has(e.result.state) && e.result.state === h.state && e.result.reason === h.reason) return;
        const entry: ClusterJobHostEntry = { node: e?.node ?? null, instance: e?.instance ?? null, result: { ...h } };
        try {
          const revision = await this.log.writeEntry(this.jobId, entry, known ? known.revision : null);
          this.#set(h.host, { value: entry, revision });
          return;
        } catch (err) {
          if (!isWrongRevision(err)) throw err;
          const now = await this.log.entry(this.jobId, h.host);
          if (now) this.#set(h.host, now);
          if (now?.value && FINAL.has(now.value.result.state)) return; // recorded by whoever got there first
        }
      }
    });
  }

  /** Write every final entry again, so a long rollout's results do not expire (a running claim is its owner's to write). */
  rewriteFinal(): void {
    for (const host of this.#known.keys()) {
      this.#chain(host, async () => {
        const cur = this.#known.get(host);
        if (!cur?.value || !FINAL.has(cur.value.result.state)) return;
        try {
          const revision = await this.log.writeEntry(this.jobId, cur.value, cur.revision);
          if (this.#known.get(host) === cur) this.#set(host, { value: cur.value, revision });
        } catch (err) {
          if (!isWrongRevision(err)) throw err;
        }
      });
    }
  }

  /** Write `entry` over the claim at revision `claimed`; `written` gets it with its new revision. */
  writeOver(host: string, entry: ClusterJobHostEntry, claimed: number, written: (v: Entry) => void): void {
    this.#chain(host, async () => {
      try {
        const revision = await this.log.writeEntry(this.jobId, entry, claimed);
        written({ value: entry, revision });
      } catch (err) {
        // The owner's own result landed first: the watch brings it.
        if (!isWrongRevision(err)) throw err;
      }
    });
  }

  #set(host: string, v: Entry): void {
    this.#known.set(host, v);
    if (v.value?.result.state === 'running') this.#running.add(host);
    else this.#running.delete(host);
  }

  /** Writes for one host run in order; a failed one is reported, not fatal. */
  #chain(host: string, fn: () => Promise<void>): void {
    if (this.fenced()) return;
    const next = (this.#writes.get(host) ?? Promise.resolve())
      .then(() => (this.fenced() ? undefined : fn()))
      .catch((err: Error) => this.warn?.(err));
    this.#writes.set(host, next);
    void next.then(() => this.#writes.get(host) === next && this.#writes.delete(host));
  }
}
