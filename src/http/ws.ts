// /ws/events: a snapshot (or the missed events after `?since=`) and then
// every live event. Unfiltered clients share one uWS topic (the cheap path);
// clients with filters get their matching events sent one by one. Both
// happen in the broadcaster's turn, so between snapshot and live there is
// neither gap nor duplicate. Slow clients are dropped with code 4008.
import type { Logger } from 'pino';
import type { EventFanout, EventSource } from '../events/broadcaster.js';
import type { StampedEvent } from '../events/replay-buffer.js';
import type { ReadModel } from '../state/read-model.js';
import type { WsClient, WsHandlers } from './uws.js';
import type { TokenAuth } from './auth.js';
import { describe, hostMatches, matches } from './ws-filter.js';
import { acceptUpgrade, type ClientData } from './ws-upgrade.js';
import { readClientMessage } from './ws-messages.js';

const ALL_TOPIC = 'events';
export const CLOSE_BACKPRESSURE = 4008;
/** How often every client's send buffer is checked against the limit. */
const SWEEP_MS = 100;

export interface EventStreamOptions {
  model: ReadModel;
  /** The broadcaster, or on a cluster node the feed of the cluster stream. */
  broadcaster: EventSource;
  log: Logger;
  auth: TokenAuth | null;
  maxBackpressure: number;
  idleTimeoutS: number;
  /** Called when a client is dropped for backpressure (metrics). */
  onDropped?: () => void;
}

export class EventStream implements EventFanout {
  /** A host's tags and groups, for filtered clients. */
  readonly #hostOf = (name: string) => this.#opts.model.get(name);
  readonly #clients = new Set<WsClient<ClientData>>();
  readonly #filtered = new Set<WsClient<ClientData>>();
  /** Clients whose `?since=` is being read back from the source's history: live events wait here for them. */
  readonly #waiting = new Map<WsClient<ClientData>, StampedEvent[]>();
  readonly #opts: EventStreamOptions;
  #publish: ((topic: string, text: string | Uint8Array) => void) | null = null;
  #sweep: NodeJS.Timeout | null = null;
  #stopped = false;
  dropped = 0;

  constructor(opts: EventStreamOptions) {
    this.#opts = opts;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  attach(publish: (topic: string, text: string | Uint8Array) => void): void {
    this.#publish = publish;
  }

  stop(): void {
    this.#stopped = true;
    this.#sweepWhileClients();
  }

  /** The backpressure sweep runs only while someone is connected: an idle daemon is not woken 10 times a second for nobody. */
  #sweepWhileClients(): void {
    const wanted = this.#clients.size > 0 && !this.#stopped;
    if (wanted && !this.#sweep) {
      this.#sweep = setInterval(() => this.#checkBackpressure(), SWEEP_MS);
      this.#sweep.unref();
    } else if (!wanted && this.#sweep) {
      clearInterval(this.#sweep);
      this.#sweep = null;
    }
  }

  handlers(): WsHandlers<ClientData> {
    return {
      path: '/ws/events',
      idleTimeoutS: this.#opts.idleTimeoutS,
      maxBackpressure: this.#opts.maxBackpressure,
      upgrade: (req) => acceptUpgrade(req, this.#opts.auth),
      open: (c) => this.#open(c),
      message: (c, text) => this.#message(c, text),
      close: (c) => {
        this.#clients.delete(c);
        this.#filtered.delete(c);
        this.#waiting.delete(c);
        this.#sweepWhileClients();
      },
    };
  }

  #open(c: WsClient<ClientData>): void {
    // Events stamped before this snapshot go to the clients that were there.
    this.#flush();
    this.#clients.add(c);
    this.#sweepWhileClients();
    const { broadcaster } = this.#opts;
    const since = c.data.since;
    if (since !== null) {
      // A seq from the future belongs to another daemon's history: resync too.
      const missed = since > broadcaster.lastSeq ? null : broadcaster.replay.since(since, broadcaster.lastSeq);
      if (missed === null && since <= broadcaster.lastSeq && broadcaster.history) {
        this.#catchUp(c, since, broadcaster.history.bind(broadcaster));
        return;
      }
      if (missed === null) {
        const reason =
          since > broadcaster.lastSeq
            ? `seq ${since} is ahead of this daemon's last seq ${broadcaster.lastSeq}`
            : `events after ${since} are no longer in the replay buffer (oldest is ${broadcaster.replay.oldestSeq})`;
        this.#send(c, JSON.stringify({ type: 'Resync', seq: broadcaster.lastSeq, since, reason }));
        this.#sendSnapshot(c);
      } else {
        for (const e of missed) if (matches(c.data.filter, e, this.#hostOf) && !this.#send(c, e.json)) break;
      }
    } else {
      this.#sendSnapshot(c);
    }
    // Dropped already (its snapshot or backlog alone passed the limit): not routed.
    if (this.#clients.has(c)) this.#route(c);
  }

  /** `?since=` older than the replay buffer, from the source's history (a cluster node's stream), then what went live meanwhile; Resync and a snapshot when that is gone too. */
  #catchUp(c: WsClient<ClientData>, since: number, history: NonNullable<EventSource['history']>): void {
    const upTo = this.#opts.broadcaster.lastSeq;
    this.#waiting.set(c, []);
    const done = (events: StampedEvent[] | null) => {
      this.#flush();
      const held = this.#waiting.get(c);
      this.#waiting.delete(c);
      if (!held || !this.#clients.has(c)) return;
      if (events === null) {
        const { lastSeq } = this.#opts.broadcaster;
        this.#send(c, JSON.stringify({ type: 'Resync', seq: lastSeq, since, reason: `events after ${since} are no longer kept` }));
        this.#sendSnapshot(c);
      } else {
        for (const e of [...events, ...held.filter((h) => h.seq > upTo)]) if (matches(c.data.filter, e, this.#hostOf) && !this.#send(c, e.json)) break;
      }
      if (this.#clients.has(c)) this.#route(c);
    };
    history(since, upTo).then(done, (err: Error) => {
      this.#opts.log.warn({ client: c.data.id, since, err: err.message }, 'could not read the event history; the client resyncs');
      done(null);
    });
  }

  #sendSnapshot(c: WsClient<ClientData>): void {
    const { model, broadcaster } = this.#opts;
    const f = c.data.filter;
    let hosts: string;
    if (f) {
      const parts: string[] = [];
      for (const name of model.names()) if (hostMatches(f, name, this.#hostOf)) parts.push(model.json(name) as string);
      hosts = parts.join(',');
    } else {
      // Every unfiltered client joining between two host changes gets the same list.
      hosts = model.allJson();
    }
    const text = `{"type":"Snapshot","seq":${broadcaster.lastSeq},"ts":"${new Date().toISOString()}","hosts":[${hosts}]}`;
    // A big fleet's snapshot may alone be larger than the limit: it is allowed on top.
    c.data.allowance = Buffer.byteLength(text);
    this.#send(c, text);
  }

  /** Put the client on the shared topic or the filtered list. */
  #route(c: WsClient<ClientData>): void {
    if (c.data.filter) {
      c.unsubscribe(ALL_TOPIC);
      this.#filtered.add(c);
    } else {
      this.#filtered.delete(c);
      c.subscribe(ALL_TOPIC);
    }
  }

  #message(c: WsClient<ClientData>, text: string): void {
    const msg = readClientMessage(text);
    if (msg.kind === 'refused') {
      this.#send(c, msg.reply);
    } else if (msg.kind === 'ping') {
      this.#send(c, JSON.stringify({ type: 'Pong', seq: this.#opts.broadcaster.lastSeq }));
    } else {
      this.#flush();
      c.data.filter = msg.filter;
      // A client still catching up joins the live path when it has caught up.
      if (!this.#waiting.has(c)) this.#route(c);
      this.#send(c, JSON.stringify({ type: 'FilterChanged', seq: this.#opts.broadcaster.lastSeq, filter: describe(c.data.filter) }));
      // Hosts the new filter lets in were not in the client's view: a fresh
      // snapshot of the new subset (same seq, so live events follow without gap).
      if (msg.snapshot) this.#sendSnapshot(c);
    }
  }

  /**
   * Events are sent at the end of the loop turn, together: the port batches
   * of several shards that land in one turn then cost one write per client
   * instead of one per batch. Anything that looks at "what has this client
   * seen" (open, filter change) flushes first, so snapshots stay exact.
   */
  deliver(events: StampedEvent[]): void {
    for (const e of events) this.#pending.push(e);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushBound);
    }
  }

  readonly #pending: StampedEvent[] = [];
  #flushScheduled = false;
  readonly #flushBound = () => this.#flush();

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    const events = this.#pending.splice(0);
    for (const held of this.#waiting.values()) held.push(...events);
    if (this.#publish && this.#clients.size > this.#filtered.size) {
      for (const e of events) this.#publish(ALL_TOPIC, e.json);
    }
    if (this.#filtered.size === 0) return;
    // Encoded once per event, not once per filtered client that gets it.
    const bytes: Array<Buffer | undefined> = new Array(events.length);
    for (const c of this.#filtered) {
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (!matches(c.data.filter, e, this.#hostOf)) continue;
        if (!this.#send(c, (bytes[i] ??= Buffer.from(e.json)))) break;
      }
    }
  }

  /**
   * Send one message to one client; a client whose send buffer passes the
   * limit is dropped at once (false). Clients on the shared topic are checked
   * by the sweep instead: per-publish checks would cost a native call per
   * client per event.
   */
  #send(c: WsClient<ClientData>, text: string | Uint8Array): boolean {
    if (!c.send(text)) return false;
    if (c.bufferedAmount() <= this.#opts.maxBackpressure + c.data.allowance) return true;
    this.#drop(c);
    return false;
  }

  #drop(c: WsClient<ClientData>): void {
    if (!this.#clients.delete(c)) return;
    this.#filtered.delete(c);
    this.#sweepWhileClients();
    this.dropped++;
    this.#opts.onDropped?.();
    this.#opts.log.warn({ client: c.data.id, buffered: c.bufferedAmount() }, 'dropping slow WebSocket client');
    c.close(CLOSE_BACKPRESSURE, 'backpressure limit exceeded');
  }

  #checkBackpressure(): void {
    const limit = this.#opts.maxBackpressure;
    for (const c of this.#clients) {
      const buffered = c.bufferedAmount();
      if (buffered > limit + c.data.allowance) this.#drop(c);
      // The snapshot has drained: back to the plain limit.
      else if (c.data.allowance > 0 && buffered <= limit) c.data.allowance = 0;
    }
  }
}
