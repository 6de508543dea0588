// The page's live state: one FleetStream (the client library's stream model)
// and signals the components read. Events are applied to the model as they
// arrive, but the page re-renders at most once per animation frame — and not
// at all while the tab is hidden: no frame is drawn and no REST read is sent
// (the stream stays open, so showing the tab again is one frame of catch-up).
import { signal, batch } from '@preact/signals';
import { TendhostApiError, type TendhostClient, type FleetStream, type StreamEvent, type StreamState, type UpdateCompleted } from '../client/index.js';
import { History } from './history.js';
import { whenVisible } from './visibility.js';
import { Deriver } from './rows.js';

export type UpdateResult = UpdateCompleted['result'];

const KEEP_EVENTS = 500;
const KEEP_RESULTS = 2_000;

export class Store {
  readonly client: TendhostClient;
  readonly stream: FleetStream;
  /** Bumped once per frame in which the model changed: derived views recompute on it. */
  readonly tick = signal(0);
  readonly state = signal<StreamState>('connecting');
  readonly lagMs = signal(0);
  readonly error = signal<string | null>(null);
  /** Set when the daemon refuses our token: the page shows the prompt again. */
  readonly needToken = signal(false);
  readonly history = new History();
  /** The latest host events, newest last (for the host detail). */
  readonly recent: StreamEvent[] = [];
  /** Each host's last update result (package list of a dry run). */
  readonly lastResult = new Map<string, UpdateResult>();
  /** The table's rows and the counts, kept up per changed host (rows.ts). */
  readonly rows = new Deriver();
  /** Each host's latest job seen on the stream: its detail re-reads its jobs when this moves. */
  readonly lastJob = new Map<string, string>();
  /** Hosts whose changed key was accepted from this page (dropped once the host is no longer failed). */
  readonly keyAccepted = new Set<string>();
  #framePending = false;
  /** The model changed while the tab was hidden: draw once it shows again. */
  #missedFrame = false;
  #lastTs: string | null = null;
  #frameEvents = 0;

  constructor(client: TendhostClient) {
    this.client = client;
    this.stream = client.stream();
    this.stream.on('snapshot', () => {
      this.rows.reset();
      this.#schedule();
    });
    this.stream.on('events', (events) => {
      for (const e of events) this.#record(e);
      this.#lastTs = events[events.length - 1].ts;
      this.#frameEvents += events.length;
      this.#schedule();
    });
    this.stream.on('state', (s) => {
      this.state.value = s;
      if (s === 'live') this.error.value = null;
      // A browser cannot see why an upgrade failed: ask REST whether it is the token.
      if (s === 'reconnecting') this.#checkToken();
    });
    this.stream.on('error', (err) => {
      this.error.value = err.message;
      if (err.status === 401) this.needToken.value = true;
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.#missedFrame) this.#schedule();
    });
  }

  /** A REST read the page makes by itself (not an action the user asked for): never while hidden. */
  async read<T>(fn: (c: TendhostClient) => Promise<T>): Promise<T> {
    await whenVisible();
    const answer = await this.call(fn);
    await whenVisible(); // an answer that lands after the tab hid is drawn once it shows
    return answer;
  }

  start(): void {
    this.stream.start();
  }

  /** Run a REST call; a 401 brings the token prompt back, other failures become the banner text. */
  async call<T>(fn: (c: TendhostClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client);
    } catch (err) {
      if (err instanceof TendhostApiError && err.status === 401) this.needToken.value = true;
      throw err;
    }
  }

  #record(e: StreamEvent): void {
    if (e.type === 'HostUpdated' || e.type === 'HostStateChanged' || e.type === 'HostRemoved') this.rows.touch(e.host);
    switch (e.type) {
      case 'UpdateCompleted':
        if (e.result.success && !e.result.dry_run) this.history.add('completed', e.ts);
        this.lastResult.delete(e.host);
        this.lastResult.set(e.host, e.result);
        if (this.lastResult.size > KEEP_RESULTS) this.lastResult.delete(this.lastResult.keys().next().value as string);
        break;
      case 'HostStateChanged':
        if (e.to === 'failed') this.history.add('failed', e.ts);
        break;
      case 'JobStarted':
        for (const h of e.hosts) this.lastJob.set(h, e.job_id);
        break;
      default:
        break;
    }
    if ('host' in e && e.type !== 'HostUpdated') {
      this.recent.push(e);
      if (this.recent.length > KEEP_EVENTS * 2) this.recent.splice(0, this.recent.length - KEEP_EVENTS);
    }
  }

  #schedule(): void {
    if (document.hidden) {
      this.#missedFrame = true;
      return;
    }
    this.#missedFrame = false;
    if (this.#framePending) return;
    this.#framePending = true;
    requestAnimationFrame(() => this.#frame());
  }

  #frame(): void {
    this.#framePending = false;
    // A frame asked for just before the tab hid: drawn once it shows.
    if (document.hidden) return void (this.#missedFrame = true);
    const ts = this.#lastTs;
    const events = this.#frameEvents;
    this.#frameEvents = 0;
    this.#lastTs = null;
    this.history.advance();
    const t0 = performance.now();
    batch(() => {
      this.tick.value++;
      if (ts) this.lagMs.value = Math.max(0, Date.now() - Date.parse(ts));
    });
    // Preact renders in a microtask queued by the change above, so this one runs after it:
    // t0 → here is this frame's own work (derive + render). Then, after the frame,
    // how far the page is behind the stream (event ts to screen). Both as a User
    // Timing mark a profiler (bench/dashboard.ts) can read.
    let workMs = 0;
    queueMicrotask(() => (workMs = performance.now() - t0));
    if (ts)
      setTimeout(() => {
        performance.mark('tendhost:frame', { detail: { lagMs: Date.now() - Date.parse(ts), events, workMs } });
        if (performance.getEntriesByName('tendhost:frame').length > 600) performance.clearMarks('tendhost:frame');
      }, 0);
  }

  async #checkToken(): Promise<void> {
    if (!this.client.token && this.needToken.value) return;
    try {
      await this.read((c) => c.listTags());
    } catch (err) {
      if (err instanceof TendhostApiError && err.status === 401) {
        this.needToken.value = true;
        this.stream.close();
      }
    }
  }
}
