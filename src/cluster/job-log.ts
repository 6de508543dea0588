// Jobs and their per-host results in one JetStream KV bucket, so any node
// can read a job (paged and filtered with src/jobs/job-view.ts, as on one
// machine) and take an unfinished one over. Keys, for job <id>:
//   job.<id>           the header (ClusterJobHeader): fields, coordinator, request, counts
//   sel.<id>.<n>       the selected host names in order, 1,000 per chunk
//   host.<id>.<host>   one host's result, written when it changes (absent: pending)
//   active.<id>        present while the job is unfinished (what nodes scan for orphans)
//   cancel.<id>        a cancel asked on any node, for the coordinator to act on
// Per-host keys (not one big value) let the owner that ran a host and the
// coordinator write results independently, each by compare-and-set on the
// key's revision, and keep every write small whatever the job's size.
import { Kvm, KvWatchInclude, type KV, type KvEntry, type KvWatchEntry } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Compile } from 'typebox/compile';
import { JobFields, type JobHostResult, type JobRecord } from '../../common/schemas/job.js';
import { ClusterJobChunk, ClusterJobHeader, ClusterJobHostEntry } from './job-log-schema.js';
import { AckedPublisher } from './acked-publish.js';
import { isWrongRevision } from './buckets.js';
import { CasWriter } from './cas-writer.js';
import { readAll, readPresent } from './kv-read.js';
import { unreadable } from './kv-value.js';

export const JOBS_BUCKET = 'tendhost_jobs';
const CHUNK = 1000;

export interface JobsRetention {
  /** An entry is removed this long after its last write. */
  maxAgeMs: number;
  /** The bucket's size cap: past it, writes (and so new jobs) are refused. */
  maxBytes: number;
}

/** A value and the revision to compare-and-set against. `value` null: the key was deleted. */
export interface Versioned<T> {
  value: T;
  revision: number;
}

const checkHeader = Compile(ClusterJobHeader);
const checkEntry = Compile(ClusterJobHostEntry);
const checkChunk = Compile(ClusterJobChunk);
const JOB_FIELD_NAMES = Object.keys(JobFields) as Array<keyof typeof JobFields>;

const headerKey = (id: string) => `job.${id}`;
const chunkKey = (id: string, n: number) => `sel.${id}.${n}`;
const entryPrefix = (id: string) => `host.${id}.`;
const activeKey = (id: string) => `active.${id}`;
const cancelKey = (id: string) => `cancel.${id}`;

/** A host that has no entry yet: not started. */
export function pendingResult(host: string): JobHostResult {
  return { host, state: 'pending', host_state: null, error: null, code: null, reason: null, finished_at: null };
}

/** Finished jobs kept read back (their records no longer change: a 10,000-host one takes ~0.5 s to read). */
const FINISHED_CACHE = 32;

export class JobLog {
  private readonly finished = new Map<string, { revision: number; record: JobRecord }>();

  private constructor(
    private readonly kv: KV,
    /** Host claims and results: two writes per host of every rollout, gathered per turn. */
    private readonly cas: CasWriter,
    /** A header in a listing that is none (written by hand or another version). */
    private readonly bad: (err: Error) => void,
  ) {}

  /** Open (creating once) the jobs bucket; the latest node to start sets its retention, like the event stream's. */
  static async open(nc: NatsConnection, retention: JobsRetention, bad: (err: Error) => void = () => undefined): Promise<JobLog> {
    const kv = await new Kvm(nc).create(JOBS_BUCKET, { history: 1, ttl: retention.maxAgeMs, max_bytes: retention.maxBytes });
    const jsm = await jetstreamManager(nc);
    const stream = `KV_${JOBS_BUCKET}`;
    const info = await jsm.streams.info(stream);
    const maxAge = retention.maxAgeMs * 1_000_000;
    if (info.config.max_age !== maxAge || info.config.max_bytes !== retention.maxBytes) {
      await jsm.streams.update(stream, { ...info.config, max_age: maxAge, max_bytes: retention.maxBytes });
    }
    return new JobLog(kv, new CasWriter(new AckedPublisher(nc), `$KV.${JOBS_BUCKET}.`), bad);
  }

  /** Record a new job: its selection, its header, and the active marker (in that order, so a marker never names a job that cannot be read). */
  async create(header: ClusterJobHeader, hosts: readonly string[]): Promise<number> {
    const chunks = Math.ceil(hosts.length / CHUNK);
    await Promise.all(Array.from({ length: chunks }, (_, n) => this.kv.put(chunkKey(header.id, n), JSON.stringify(hosts.slice(n * CHUNK, (n + 1) * CHUNK)))));
    const revision = await this.kv.create(headerKey(header.id), JSON.stringify({ ...header, chunks }));
    if (header.finished_at === null) await this.kv.put(activeKey(header.id), header.coordinator);
    return revision;
  }

  /**
   * Write a job that no rollout coordinates (a host command's job, run and
   * recorded by the host's owner): its selection (unless `selection` is
   * false: written before, unchanged), its host results and its header, each
   * put as it is now. No active marker: nobody continues it.
   */
  async put(header: ClusterJobHeader, hosts: readonly string[], results: readonly ClusterJobHostEntry[], selection = true): Promise<void> {
    const chunks = Math.ceil(hosts.length / CHUNK);
    await Promise.all([
      ...Array.from({ length: selection ? chunks : 0 }, (_, n) => this.kv.put(chunkKey(header.id, n), JSON.stringify(hosts.slice(n * CHUNK, (n + 1) * CHUNK)))),
      ...results.map((e) => this.kv.put(entryPrefix(header.id) + e.result.host, JSON.stringify(e))),
    ]);
    await this.kv.put(headerKey(header.id), JSON.stringify({ ...header, chunks }));
  }

  /**
   * Write a running job's selection and active marker again: entries expire
   * max_age after their last write, and a rollout may outlive that.
   */
  async refresh(id: string, hosts: readonly string[], coordinator: string): Promise<void> {
    const chunks = Math.ceil(hosts.length / CHUNK);
    await Promise.all(Array.from({ length: chunks }, (_, n) => this.kv.put(chunkKey(id, n), JSON.stringify(hosts.slice(n * CHUNK, (n + 1) * CHUNK)))));
    await this.kv.put(activeKey(id), coordinator);
  }

  async header(id: string): Promise<Versioned<ClusterJobHeader> | null> {
    const e = await this.kv.get(headerKey(id));
    return e && e.operation === 'PUT' ? { value: parse(checkHeader, e, 'job header'), revision: e.revision } : null;
  }

  /** Compare-and-set the header; a wrong revision (another coordinator wrote it) throws. */
  writeHeader(h: ClusterJobHeader, revision: number): Promise<number> {
    return this.kv.update(headerKey(h.id), JSON.stringify(h), revision);
  }

  /** The job's hosts in selection order. */
  async selection(id: string, chunks: number): Promise<string[]> {
    const parts = await Promise.all(Array.from({ length: chunks }, (_, n) => this.kv.get(chunkKey(id, n))));
    return parts.flatMap((e, n) => {
      if (!e || e.operation !== 'PUT') throw new Error(`${JOBS_BUCKET} ${chunkKey(id, n)}: selection chunk missing (expired?)`);
      return parse(checkChunk, e, 'selection chunk');
    });
  }

  /** Every host entry of the job (one pass over the bucket's stream): host → entry (null: released). */
  async entries(id: string): Promise<Map<string, Versioned<ClusterJobHostEntry | null>>> {
    const out = new Map<string, Versioned<ClusterJobHostEntry | null>>();
    const prefix = entryPrefix(id);
    for (const e of await readAll(this.kv, `${prefix}>`)) {
      const v = this.#readable(e);
      if (v) out.set(e.key.slice(prefix.length), v);
    }
    return out;
  }

  /** An entry as listed or watched; one that is none is reported and left out (the host reads as not started), so it stops neither the listing nor the watch. */
  #readable(e: KvEntry | KvWatchEntry): Versioned<ClusterJobHostEntry | null> | null {
    return this.#reported(() => versioned(e), e.key);
  }

  /** `read()`, or null when the value under `key` is none (reported). */
  #reported<T>(read: () => T, key: string): T | null {
    try {
      return read();
    } catch (err) {
      this.bad(unreadable(err, JOBS_BUCKET, key));
      return null;
    }
  }

  async entry(id: string, host: string): Promise<Versioned<ClusterJobHostEntry | null> | null> {
    const e = await this.kv.get(entryPrefix(id) + host);
    return e ? versioned(e) : null;
  }

  /**
   * Write a host's entry: created when `revision` is null (or the key was
   * released), else compare-and-set on it. A wrong revision throws
   * (isWrongRevision): someone else wrote the host first.
   */
  async writeEntry(id: string, e: ClusterJobHostEntry, revision: number | null): Promise<number> {
    const key = entryPrefix(id) + e.result.host;
    const data = JSON.stringify(e);
    if (revision !== null) return this.cas.write(key, data, revision);
    try {
      return await this.cas.write(key, data, 0);
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      // A released claim leaves a delete marker: written over by its revision (as kv.create does).
      const now = await this.kv.get(key);
      if (now && now.operation !== 'PUT') return this.cas.write(key, data, now.revision);
      throw err;
    }
  }

  /** Give a host's claim back (its owner refused to start it): the host is pending again. */
  async releaseEntry(id: string, host: string, revision: number): Promise<void> {
    await this.kv.delete(entryPrefix(id) + host, { previousSeq: revision });
  }

  /** Follow the job's host entries from now on. */
  async watchEntries(id: string, fn: (host: string, e: Versioned<ClusterJobHostEntry | null>) => void): Promise<{ stop(): void }> {
    const prefix = entryPrefix(id);
    const it = await this.kv.watch({ key: `${prefix}>`, include: KvWatchInclude.UpdatesOnly });
    (async () => {
      for await (const e of it) {
        const v = this.#readable(e);
        if (v) fn(e.key.slice(prefix.length), v);
      }
    })().catch(() => undefined);
    return it;
  }

  /** The whole job as the single daemon keeps it (for job-view's jobView / jobHostsPage); null when unknown or expired. */
  async read(id: string): Promise<JobRecord | null> {
    const h = await this.header(id);
    if (!h) return null;
    const cached = this.finished.get(id);
    // The header is written last when a job ends: the same revision means nothing changed since.
    if (cached && cached.revision === h.revision) return cached.record;
    const [names, entries] = await Promise.all([this.selection(id, h.value.chunks), this.entries(id)]);
    const record = toRecord(h.value, names, entries);
    if (h.value.finished_at !== null) {
      this.finished.delete(id);
      this.finished.set(id, { revision: h.revision, record });
      if (this.finished.size > FINISHED_CACHE) this.finished.delete(this.finished.keys().next().value as string);
    }
    return record;
  }

  /** Every job header the bucket keeps, newest first; one that is no header is passed over and reported, so the others still list. */
  async list(): Promise<ClusterJobHeader[]> {
    const out: ClusterJobHeader[] = [];
    for (const e of await readAll(this.kv, 'job.>')) {
      if (e.operation !== 'PUT') continue;
      const h = this.#reported(() => parse(checkHeader, e, 'job header'), e.key);
      if (h) out.push(h);
    }
    return out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  }

  /** Ids of unfinished jobs. */
  async active(): Promise<string[]> {
    return (await readPresent(this.kv, 'active.>')).map((e) => e.key.slice('active.'.length));
  }

  /** Follow the unfinished jobs: every one there is now, then each one that starts or ends. */
  async watchActive(fn: (id: string, active: boolean) => void): Promise<{ stop(): void }> {
    const it = await this.kv.watch({ key: 'active.>' });
    (async () => {
      for await (const e of it) fn(e.key.slice('active.'.length), e.operation === 'PUT');
    })().catch(() => undefined);
    return it;
  }

  async clearActive(id: string): Promise<void> {
    await this.kv.delete(activeKey(id));
  }

  /** Ask the job's coordinator, wherever it runs, to cancel. False when the job is unknown or finished. */
  async requestCancel(id: string): Promise<boolean> {
    const h = await this.header(id);
    if (!h || h.value.finished_at !== null) return false;
    await this.kv.put(cancelKey(id), new Date().toISOString());
    return true;
  }

  async cancelRequested(id: string): Promise<boolean> {
    const e = await this.kv.get(cancelKey(id));
    return !!e && e.operation === 'PUT';
  }
}

/** The header's fields, the selection in order, each host's entry (or pending). */
export function toRecord(h: ClusterJobHeader, names: readonly string[], entries: ReadonlyMap<string, Versioned<ClusterJobHostEntry | null>>): JobRecord {
  const fields = Object.fromEntries(JOB_FIELD_NAMES.map((k) => [k, h[k]])) as Omit<JobRecord, 'hosts'>;
  return { ...fields, hosts: names.map((n) => ({ ...(entries.get(n)?.value?.result ?? pendingResult(n)) })) };
}

function versioned(e: KvEntry | KvWatchEntry): Versioned<ClusterJobHostEntry | null> {
  return { value: e.operation === 'PUT' ? parse(checkEntry, e, 'job host entry') : null, revision: e.revision };
}

function parse<T>(check: { Check(v: unknown): v is T }, e: KvEntry, what: string): T {
  const v = e.json<unknown>();
  if (!check.Check(v)) throw new Error(`${JOBS_BUCKET} ${e.key}: not a ${what}`);
  return v;
}

