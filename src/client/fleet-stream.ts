// The live event stream with a correct local model: Snapshot, then events in
// seq order; on a drop it reconnects with jittered backoff and `?since=<seq>`
// (no gap, no duplicate), on Resync it rebuilds from the new Snapshot, and a
// silent connection is detected by heartbeats. Runs on the browser's
// WebSocket or on `ws` (src/client/node.ts) through `openSocket`
// (stream-socket.ts); its iterator and job wait are in stream-consumers.ts,
// its URL and filter messages in stream-request.ts.
import { TendhostApiError } from './errors.js';
import { Backoff } from './backoff.js';
import { FleetModel, isStreamEvent } from './fleet-model.js';
import type { Job, ServerMessage, StreamEvent, StreamFilter } from './types.js';
import { browserSocket, detach, type OpenSocket, type SocketLike, type StreamState } from './stream-socket.js';
import { iterateEvents, waitForJob, type JobReader } from './stream-consumers.js';
import { filterMessage, normalFilter, streamUrl } from './stream-request.js';

export { browserSocket, type OpenSocket, type SocketLike, type StreamState } from './stream-socket.js';
export type { JobReader } from './stream-consumers.js';

export interface FleetStreamOptions {
  /** The daemon's base URL (http[s]://…); the stream is at /ws/events. */
  url: string;
  token?: string;
  filter?: StreamFilter;
  openSocket?: OpenSocket;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A ping is sent this often; no message for twice as long = a dead connection. Default 15 s. */
  heartbeatMs?: number;
  /** Events an `events()` iterator may hold unread before it fails. Default 10,000. */
  maxQueued?: number;
  /**
   * Start after this seq instead of from a snapshot: the first connection asks
   * for the events after it (`?since=`), and the daemon answers Resync and a
   * Snapshot when it no longer has them. Hosts stay empty until a snapshot.
   */
  since?: number;
}

interface Listeners {
  snapshot: Set<() => void>;
  events: Set<(batch: StreamEvent[]) => void>;
  state: Set<(state: StreamState) => void>;
  error: Set<(err: TendhostApiError) => void>;
}

export class FleetStream {
  readonly model = new FleetModel();
  #state: StreamState = 'closed';
  #filter: StreamFilter | null;
  #socket: SocketLike | null = null;
  #opened = false;
  #stopped = true;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #lastHeard = 0;
  #batch: StreamEvent[] = [];
  #flushQueued = false;
  readonly #backoff: Backoff;
  readonly #opts: FleetStreamOptions;
  readonly #open: OpenSocket;
  readonly #on: Listeners = { snapshot: new Set(), events: new Set(), state: new Set(), error: new Set() };

  constructor(opts: FleetStreamOptions) {
    this.#opts = opts;
    this.#filter = normalFilter(opts.filter);
    this.#open = opts.openSocket ?? browserSocket;
    this.#backoff = new Backoff({ minMs: opts.minBackoffMs, maxMs: opts.maxBackoffMs });
    if (opts.since !== undefined) this.model.resumeFrom(opts.since);
  }

  get state(): StreamState {
    return this.#state;
  }

  /** True once the model holds a snapshot (hosts are meaningful). */
  get ready(): boolean {
    return this.#opened || this.model.version > 0;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect('connecting');
  }

  close(): void {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#stopHeartbeat();
    const s = this.#socket;
    this.#socket = null;
    if (s) {
      detach(s);
      s.close(1000, 'client closed');
    }
    this.#flush();
    this.#setState('closed');
  }

  on(what: 'snapshot', fn: () => void): () => void;
  on(what: 'events', fn: (batch: StreamEvent[]) => void): () => void;
  on(what: 'state', fn: (state: StreamState) => void): () => void;
  on(what: 'error', fn: (err: TendhostApiError) => void): () => void;
  on(what: keyof Listeners, fn: (arg: never) => void): () => void {
    const set = this.#on[what] as Set<typeof fn>;
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Change the filter on the open connection; a Snapshot of the new subset follows. */
  setFilter(filter: StreamFilter): void {
    this.#filter = normalFilter(filter);
    if (this.#socket && this.#opened) this.#socket.send(filterMessage(this.#filter));
  }

  /** Every event from now on, in order. Unread events are bounded: past `maxQueued` the iterator throws EVENTS_OVERFLOW. */
  events(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<StreamEvent> {
    return iterateEvents(this, this.#opts.maxQueued ?? 10_000, opts);
  }

  /** The job's final record, without polling (see stream-consumers.ts). */
  waitForJob(client: JobReader, id: string, opts: { signal?: AbortSignal } = {}): Promise<Job> {
    return waitForJob(this, client, id, opts);
  }

  #connect(state: StreamState): void {
    if (this.#stopped) return;
    this.#setState(state);
    this.#opened = false;
    const url = streamUrl(this.#opts.url, this.model.resuming ? this.model.seq : null, this.#filter);
    let socket: SocketLike;
    try {
      socket = this.#open(url, this.#opts.token);
    } catch (err) {
      this.#emitError(new TendhostApiError(0, 'UNREACHABLE', `cannot open ${url}: ${(err as Error).message}`));
      return this.#scheduleRetry();
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#opened = true;
      this.#lastHeard = Date.now();
      this.#startHeartbeat();
      // Resuming: the missed events (or a Resync) come first, then our Pong says we are caught up.
      if (this.model.resuming) socket.send('{"type":"ping"}');
    };
    socket.onmessage = (ev) => this.#onMessage(ev.data);
    socket.onerror = () => {}; // onclose follows and decides
    socket.onclose = (ev) => this.#onClose(socket, ev.code, ev.reason);
  }

  #onMessage(data: unknown): void {
    this.#lastHeard = Date.now();
    let msg: ServerMessage;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : String(data)) as ServerMessage;
    } catch {
      return this.#emitError(new TendhostApiError(0, 'BAD_RESPONSE', 'the stream sent a message that is not JSON'));
    }
    switch (msg.type) {
      case 'Snapshot':
        this.#flush();
        this.model.applySnapshot(msg);
        this.#caughtUp();
        for (const fn of this.#on.snapshot) fn();
        return;
      case 'Resync':
        this.#setState('resyncing');
        return;
      case 'Pong':
        if (this.#state === 'reconnecting' || this.#state === 'connecting') this.#caughtUp();
        return;
      case 'FilterChanged':
        return;
      case 'Error':
        return this.#emitError(new TendhostApiError(0, msg.code, msg.message));
    }
    if (!isStreamEvent(msg)) return;
    const result = this.#filter ? this.model.applyFiltered(msg) : this.model.apply(msg);
    if (result === 'applied') {
      this.#batch.push(msg);
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(() => this.#flush());
      }
    } else if (result === 'gap') {
      // Events were missed (should not happen on one connection): resume from what we have.
      this.#reconnectNow();
    }
  }

  #caughtUp(): void {
    this.#backoff.reset();
    this.#setState('live');
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    for (const fn of this.#on.events) fn(batch);
  }

  #onClose(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#stopHeartbeat();
    this.#flush();
    if (this.#stopped) return;
    if (!this.#opened && (socket.httpStatus === 401 || socket.httpStatus === 403)) {
      // A wrong token does not get better by retrying.
      this.#emitError(new TendhostApiError(socket.httpStatus, 'UNAUTHORIZED', 'the daemon refused the token for the event stream'));
      this.#stopped = true;
      return this.#setState('closed');
    }
    if (!this.#opened && socket.httpStatus === 400) {
      this.#emitError(new TendhostApiError(400, 'VALIDATION_FAILED', `the daemon refused the stream request${reason ? `: ${reason}` : ''}`));
      this.#stopped = true;
      return this.#setState('closed');
    }
    if (this.#opened && code !== 1000) this.#emitError(new TendhostApiError(0, 'UNREACHABLE', `stream closed (${code}${reason ? ` ${reason}` : ''}); reconnecting`));
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#stopped) return;
    this.#setState('reconnecting');
    const delay = this.#backoff.next();
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect('reconnecting');
    }, delay);
  }

  #reconnectNow(): void {
    const s = this.#socket;
    this.#socket = null;
    this.#stopHeartbeat();
    if (s) {
      detach(s);
      s.close(4000, 'resuming after a gap');
    }
    this.#connect('reconnecting');
  }

  #startHeartbeat(): void {
    const every = this.#opts.heartbeatMs ?? 15_000;
    this.#stopHeartbeat();
    this.#heartbeat = setInterval(() => {
      const s = this.#socket;
      if (!s) return;
      if (Date.now() - this.#lastHeard > 2 * every) {
        // No answer to two pings: the connection is dead even if TCP has not noticed.
        this.#emitError(new TendhostApiError(0, 'UNREACHABLE', `no message from the daemon for ${2 * every} ms; reconnecting`));
        this.#socket = null;
        this.#stopHeartbeat();
        detach(s);
        s.close(4001, 'heartbeat timeout');
        return this.#scheduleRetry();
      }
      s.send('{"type":"ping"}');
    }, every);
    (this.#heartbeat as { unref?: () => void }).unref?.();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  #setState(s: StreamState): void {
    if (s === this.#state) return;
    this.#state = s;
    for (const fn of this.#on.state) fn(s);
  }

  #emitError(err: TendhostApiError): void {
    for (const fn of this.#on.error) fn(err);
  }
}
