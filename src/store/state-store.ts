// The embedded state store (SQLite at <state_dir>/tendhost.db). At start the
// front process reads everything back synchronously (hosts registered through
// the API, every host's last status, jobs, recent events); from then on it only
// queues changes, and the writer thread applies them in batched transactions.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { HostStatus, ResolvedHost } from '../../common/schemas/host.js';
import type { JobRecord } from '../../common/schemas/job.js';
import { migrate } from './schema.js';
import { StoreError } from './store-error.js';
import type { FromWriter, ToWriter, WriteBatch } from './store-messages.js';

const WRITER_FILE = fileURLToPath(new URL('./store-writer.js', import.meta.url));

export interface LoadedState {
  registered: ResolvedHost[];
  statuses: Map<string, HostStatus>;
  jobs: JobRecord[];
  events: Array<{ seq: number; json: string }>;
  lastSeq: number;
  /** Schema version the file had before migrations (0 = new file). */
  fromVersion: number;
}

export interface StoreOptions {
  eventRetention: number;
  jobRetention: number;
  flushMs?: number;
  /** Nice levels the writer thread runs below the front thread. */
  nice?: number;
}

/** Open (creating and migrating if needed) and read everything back. */
export function loadState(stateDir: string): { file: string; state: LoadedState } {
  const file = join(stateDir, 'tendhost.db');
  try {
    mkdirSync(stateDir, { recursive: true });
  } catch (err) {
    throw new StoreError(file, `cannot create the state directory: ${(err as Error).message}`);
  }
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
  } catch (err) {
    throw new StoreError(file, `cannot open: ${(err as Error).message}`);
  }
  try {
    db.pragma('journal_mode = WAL');
    // Take the write lock now: if another daemon holds the file, say so instead of waiting.
    db.exec('BEGIN IMMEDIATE; COMMIT;');
    const fromVersion = migrate(db, file);
    const integrity = db.pragma('quick_check', { simple: true });
    if (integrity !== 'ok') throw new StoreError(file, `is corrupted (quick_check: ${String(integrity)})`);
    const registered = db
      .prepare('SELECT config FROM registered_hosts ORDER BY name')
      .all()
      .map((r) => JSON.parse((r as { config: string }).config) as ResolvedHost);
    const statuses = new Map<string, HostStatus>();
    for (const r of db.prepare('SELECT name, status FROM host_status').all() as Array<{ name: string; status: string }>) {
      statuses.set(r.name, JSON.parse(r.status) as HostStatus);
    }
    const jobs = (db.prepare('SELECT id, job FROM jobs ORDER BY created_at').all() as Array<{ id: string; job: string }>).map((r) => JSON.parse(r.job) as JobRecord);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    for (const r of db.prepare('SELECT job_id, result FROM job_hosts ORDER BY rowid').all() as Array<{ job_id: string; result: string }>) {
      byId.get(r.job_id)?.hosts.push(JSON.parse(r.result));
    }
    const events = (db.prepare('SELECT seq, event FROM events ORDER BY seq').all() as Array<{ seq: number; event: string }>).map((r) => ({
      seq: r.seq,
      json: r.event,
    }));
    return { file, state: { registered, statuses, jobs, events, lastSeq: events.length ? events[events.length - 1].seq : 0, fromVersion } };
  } catch (err) {
    if (err instanceof StoreError) throw err;
    const msg = (err as Error).message;
    if (/locked|busy/i.test(msg)) throw new StoreError(file, 'is locked by another process (is another tendhost running on this state_dir?)');
    if (/not a database|malformed|corrupt/i.test(msg)) throw new StoreError(file, `is corrupted: ${msg}`);
    throw new StoreError(file, msg);
  } finally {
    db.close();
  }
}

export class StateStore {
  readonly file: string;
  readonly #worker: Worker;
  readonly #log: Logger;
  readonly #opts: StoreOptions;
  #statuses = new Map<string, HostStatus | null>();
  #jobs = new Map<string, JobRecord>();
  /** Per job, the hosts whose result changed (null: all of them). */
  #jobHosts = new Map<string, Set<string> | null>();
  #events: Array<[number, string]> = [];
  #registered = new Map<string, ResolvedHost | null>();
  #timer: NodeJS.Timeout | null = null;
  #batchId = 0;
  #acks = new Map<number, () => void>();
  #closed = false;
  /** Persisted rows per second and write time, for /metrics. */
  readonly stats = { batches: 0, rows: 0, last_ms: 0, errors: 0 };
  #statusJson: (name: string) => string | undefined;

  private constructor(file: string, worker: Worker, log: Logger, opts: StoreOptions, statusJson: (name: string) => string | undefined) {
    this.file = file;
    this.#worker = worker;
    this.#log = log;
    this.#opts = opts;
    this.#statusJson = statusJson;
    worker.on('message', (m: FromWriter) => this.#onMessage(m));
    worker.on('error', (err) => {
      this.stats.errors++;
      log.error({ err: err.message }, 'state store writer failed');
    });
  }

  /** Start the writer thread on an already loaded (and migrated) file. */
  static async start(file: string, log: Logger, opts: StoreOptions, statusJson: (name: string) => string | undefined): Promise<StateStore> {
    const worker = new Worker(WRITER_FILE, { workerData: { file, nice: opts.nice ?? 0 } });
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromWriter) => {
        if (m.kind === 'ready') resolve();
        else if (m.kind === 'error') reject(new StoreError(file, /locked|busy/i.test(m.message) ? 'is locked by another process (is another tendhost running on this state_dir?)' : m.message));
      };
      worker.once('message', onMsg);
      worker.once('error', (err) => reject(new StoreError(file, err.message)));
    });
    return new StateStore(file, worker, log, opts, statusJson);
  }

  get open(): boolean {
    return !this.#closed;
  }

  status(s: HostStatus): void {
    this.#statuses.set(s.name, s);
    this.#schedule();
  }

  removeStatus(name: string): void {
    this.#statuses.set(name, null);
    this.#schedule();
  }

  /** A job changed; `host` names the one host result that changed, if that is all. */
  job(j: JobRecord, host?: string): void {
    this.#jobs.set(j.id, j);
    const dirty = this.#jobHosts.get(j.id);
    if (host === undefined) this.#jobHosts.set(j.id, null);
    else if (dirty === undefined) this.#jobHosts.set(j.id, new Set([host]));
    else dirty?.add(host);
    this.#schedule();
  }

  event(seq: number, json: string): void {
    this.#events.push([seq, json]);
    this.#schedule();
  }

  register(h: ResolvedHost): void {
    this.#registered.set(h.name, h);
    this.#schedule();
  }

  unregister(name: string): void {
    this.#registered.set(name, null);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => this.flush(), this.#opts.flushMs ?? 100);
  }

  /** Hand everything queued to the writer; resolves when it is on disk. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#statuses.size + this.#jobs.size + this.#events.length + this.#registered.size === 0) return Promise.resolve();
    const batch: WriteBatch = {
      id: ++this.#batchId,
      statuses: [],
      removed_statuses: [],
      jobs: [],
      job_hosts: [],
      events: this.#events,
      registered: [],
      unregistered: [],
      event_retention: this.#opts.eventRetention,
      job_retention: this.#opts.jobRetention,
    };
    for (const [name, s] of this.#statuses) {
      if (s === null) batch.removed_statuses.push(name);
      else batch.statuses.push([name, this.#statusJson(name) ?? JSON.stringify(s)]);
    }
    for (const j of this.#jobs.values()) {
      batch.jobs.push([j.id, j.state, j.created_at, JSON.stringify({ ...j, hosts: [] })]);
      const dirty = this.#jobHosts.get(j.id);
      for (const h of j.hosts) if (!dirty || dirty.has(h.host)) batch.job_hosts.push([j.id, h.host, JSON.stringify(h)]);
    }
    for (const [name, h] of this.#registered) {
      if (h === null) batch.unregistered.push(name);
      else batch.registered.push([name, JSON.stringify(h)]);
    }
    this.#statuses = new Map();
    this.#jobs = new Map();
    this.#jobHosts = new Map();
    this.#events = [];
    this.#registered = new Map();
    const done = new Promise<void>((resolve) => this.#acks.set(batch.id, resolve));
    this.#worker.postMessage({ kind: 'batch', batch } satisfies ToWriter);
    return done;
  }

  #onMessage(m: FromWriter): void {
    switch (m.kind) {
      case 'written':
        this.stats.batches++;
        this.stats.rows += m.rows;
        this.stats.last_ms = m.ms;
        this.#acks.get(m.id)?.();
        this.#acks.delete(m.id);
        break;
      case 'error':
        this.stats.errors++;
        this.#log.error({ err: m.message, batch: m.id }, 'state store write failed');
        // The batch is lost (and said so); whoever waits for it must not wait forever.
        if (m.id !== undefined) {
          this.#acks.get(m.id)?.();
          this.#acks.delete(m.id);
        }
        break;
      case 'ready':
      case 'closed':
        break;
      default: {
        const never: never = m;
        throw new Error(`unhandled store message ${JSON.stringify(never)}`);
      }
    }
  }

  /** Flush what is queued, then close the database. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    const closed = new Promise<void>((resolve) => {
      this.#worker.on('message', (m: FromWriter) => m.kind === 'closed' && resolve());
      this.#worker.once('exit', () => resolve());
    });
    this.#worker.postMessage({ kind: 'close' } satisfies ToWriter);
    await closed;
    await this.#worker.terminate();
  }
}
