// The one broadcaster: every batch a shard posts lands here, in order. Status
// messages update the read model before the events of the same batch are
// stamped (seq, ts), kept in the replay buffer and handed to the fan-out, so a
// client that reacts to an event already reads the new state. It is the only
// writer of the read model, and every change of it goes out as an event
// (HostUpdated / HostRemoved): a client that applies them holds GET /hosts.
import type { Logger } from 'pino';
import { unreachable, type PortBatch, type PortMessage } from '../../common/thread-protocol.js';
import type { HostStatus } from '../../common/schemas/host.js';
import type { StreamEvent, UnstampedStreamEvent } from '../../common/schemas/stream.js';
import { sameStatus } from '../state/same-status.js';
import type { ReadModel } from '../state/read-model.js';
import { ReplayBuffer, type StampedEvent } from './replay-buffer.js';
import { LifecycleFeed } from './lifecycle-feed.js';

export interface JobSink {
  hostResult(msg: Extract<PortMessage, { kind: 'job_result' }>): void;
}

/** Where stamped events go (the WebSocket fan-out); set once the server is up. */
export interface EventFanout {
  deliver(events: StampedEvent[]): void;
}

/**
 * What /ws/events serves from: the last seq, the recent events for `?since=`,
 * and a fan-out to feed. The broadcaster of a single daemon; on a cluster
 * node, the feed of the cluster stream (cluster-feed.ts).
 */
export interface EventSource {
  readonly lastSeq: number;
  readonly replay: Pick<ReplayBuffer, 'since' | 'oldestSeq'>;
  setFanout(f: EventFanout): void;
  /** Events (since, upTo] from further back than the replay buffer, or null when they are gone (→ Resync). */
  history?(since: number, upTo: number): Promise<StampedEvent[] | null>;
}

/** Where every status and stamped event is also written (the state store). */
export interface PersistSink {
  status(s: HostStatus): void;
  removed(name: string): void;
  event(seq: number, json: string): void;
}

/** Figures the broadcaster sees go by (the metrics module listens). */
export interface BroadcastObserver {
  opDuration(op: string, seconds: number, ok: boolean): void;
  lag(shard: number, ms: number): void;
}

export interface ShardMetrics {
  sessions_open: number;
  handshakes_in_flight: number;
  elu: number;
  heap_used: number;
  /** V8 heap reserved by the worker (used + free pages it keeps). */
  heap_total: number;
  /** Memory outside the V8 heap that its objects hold (Buffers, ArrayBuffers). */
  external: number;
  at: number;
}

export class Broadcaster implements EventSource {
  readonly replay: ReplayBuffer;
  readonly shardMetrics = new Map<number, ShardMetrics>();
  /** The hosts' update lifecycle, as their machines tell it (the audit listens). */
  readonly lifecycle = new LifecycleFeed();
  #seq = 0;
  /** The events of the port batch being handled (null between batches). */
  #current: StampedEvent[] | null = null;
  #fanout: EventFanout | null = null;
  #persist: PersistSink | null = null;
  #observer: BroadcastObserver | null = null;
  readonly #listeners = new Set<(e: StampedEvent) => void>();
  /**
   * While the daemon starts, the status each host had before the restart (from
   * the store): a host coming back unchanged is not news to a client that
   * resumes with ?since=, one that changed (interrupted work) is. null = live.
   */
  #baseline: ((name: string) => HostStatus | undefined) | null = null;
  #announceNew = true;
  readonly #model: ReadModel;
  readonly #jobs: JobSink;
  readonly #log: Logger;

  constructor(model: ReadModel, jobs: JobSink, log: Logger, replaySize: number) {
    this.#model = model;
    this.#jobs = jobs;
    this.#log = log;
    this.replay = new ReplayBuffer(replaySize);
  }

  get lastSeq(): number {
    return this.#seq;
  }

  setFanout(f: EventFanout): void {
    this.#fanout = f;
  }

  setObserver(o: BroadcastObserver): void {
    this.#observer = o;
  }

  setPersist(p: PersistSink): void {
    this.#persist = p;
  }

  /** Continue after a restart: replay buffer refilled, seq goes on from the last one. */
  restore(events: Array<{ seq: number; json: string }>, lastSeq: number): void {
    for (const e of events) {
      // Written by #stamp below (the store keeps the JSON as sent).
      const event = JSON.parse(e.json) as StreamEvent;
      this.replay.push({ seq: e.seq, type: event.type, host: 'host' in event ? event.host : null, event, json: e.json });
    }
    this.#seq = Math.max(this.#seq, lastSeq);
  }

  /**
   * Until `live()`, statuses equal to `before(name)` are applied without an
   * event; so are hosts `before` does not know when `announceNew` is false —
   * a daemon that has never published an event has no client that could
   * miss them (a snapshot shows them), and 100,000 HostUpdated events would
   * only slow its start and crowd out the replay buffer.
   */
  startingFrom(before: (name: string) => HostStatus | undefined, opts: { announceNew: boolean }): void {
    this.#baseline = before;
    this.#announceNew = opts.announceNew;
  }

  live(): void {
    this.#baseline = null;
    this.#announceNew = true;
  }

  /** A host's new status (from a shard, or a registration the API answers at once). */
  applyStatus(status: HostStatus): void {
    const prev = this.#model.apply(status);
    const known = prev ?? this.#baseline?.(status.name);
    // Unchanged: the store holds it already (every change before was written) —
    // a restart with 100,000 hosts writes no row for the hosts that come back as they were.
    if (known && sameStatus(known, status)) return;
    this.#persist?.status(status);
    if (!known && !this.#announceNew) return;
    this.emit({ type: 'HostUpdated', host: status.name, status });
  }

  /** The host is gone; announced once, whoever tells first (the API, a reload, or its shard). */
  removeHost(name: string): void {
    if (!this.#model.remove(name)) return;
    this.lifecycle.forget(name);
    this.#persist?.removed(name);
    this.emit({ type: 'HostRemoved', host: name });
  }

  /** In-process subscribers (rollouts, audit); called after the fan-out. */
  subscribe(fn: (e: StampedEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  onBatch(shard: number, batch: PortBatch): void {
    const stamped: StampedEvent[] = [];
    // Events emitted while this batch is handled (a rollout's progress on a
    // job_result) join it, so clients see seqs in order.
    this.#current = stamped;
    try {
      this.#handle(shard, batch, stamped);
    } finally {
      this.#current = null;
      if (stamped.length > 0) this.#publish(stamped);
    }
  }

  #handle(shard: number, batch: PortBatch, stamped: StampedEvent[]): void {
    for (const msg of batch) {
      switch (msg.kind) {
        case 'status':
          this.applyStatus(msg.status);
          break;
        case 'event':
          stamped.push(this.#stamp(msg.event));
          break;
        case 'removed':
          this.removeHost(msg.name);
          break;
        case 'lifecycle':
          this.lifecycle.report(msg);
          break;
        case 'job_result':
          this.#jobs.hostResult(msg);
          break;
        case 'metrics':
          this.shardMetrics.set(shard, { ...msg, at: Date.now() });
          this.#observer?.lag(shard, Date.now() - msg.sent_at);
          break;
        case 'backlog':
          break; // the shard pool's (it takes it off the batch before this)
        case 'op_duration':
          this.#observer?.opDuration(msg.op, msg.seconds, msg.ok);
          break;
        case 'log':
          this.#log[msg.level]({ shard, ...msg.fields }, msg.msg);
          break;
        case 'fatal':
          this.#log.error({ shard, err: msg.error }, 'shard worker failed');
          break;
        default:
          unreachable(msg, 'port message');
      }
    }
  }

  /** Events born in the front process (fleet rollouts) go through the same path. */
  emit(event: UnstampedStreamEvent): StampedEvent {
    const s = this.#stamp(event);
    if (this.#current) this.#current.push(s);
    else this.#publish([s]);
    return s;
  }

  /** Host events from the workers, fleet and job events from the front: one union, one path. */
  #stamp(event: UnstampedStreamEvent): StampedEvent {
    const seq = ++this.#seq;
    const full: StreamEvent = { ...event, seq, ts: new Date().toISOString() };
    const s: StampedEvent = {
      seq,
      type: full.type,
      host: 'host' in full ? full.host : null,
      event: full,
      json: JSON.stringify(full),
    };
    this.replay.push(s);
    this.#persist?.event(seq, s.json);
    return s;
  }

  #publish(events: StampedEvent[]): void {
    this.#fanout?.deliver(events);
    if (this.#listeners.size === 0) return;
    for (const e of events) for (const fn of this.#listeners) fn(e);
  }
}
