// A cluster node's view of the whole fleet: the read model fed from the
// cluster event stream (every node's events in stream order), so GETs and
// /ws/events on any node show the hosts the others run. It starts from the
// shared status bucket, then applies each HostUpdated / HostRemoved as the
// stream delivers it and hands the same event, stamped with the stream's seq,
// to the WebSocket fan-out in the same turn: a snapshot taken between two
// events has exactly the seq of the first, so what follows it has no gap and
// no duplicate.
import type { Logger } from 'pino';
import type { StreamEvent } from '../../common/schemas/stream.js';
import type { EventReader, EventStream } from '../cluster/event-stream.js';
import type { RegistryKv } from '../cluster/registry-kv.js';
import type { ReadModel } from '../state/read-model.js';
import type { EventFanout, EventSource } from './broadcaster.js';
import { ReplayBuffer, type StampedEvent } from './replay-buffer.js';

/** The most events one client's `?since=` is read back from the stream; further back it resyncs. */
const HISTORY_MAX = 100_000;
/** How long to wait before reading again after the stream reader ended (NATS away). */
const REOPEN_MS = 500;

export class ClusterFeed implements EventSource {
  readonly replay: ReplayBuffer;
  #last = 0;
  #fanout: EventFanout | null = null;
  #reader: EventReader | null = null;
  #stopped = false;
  #following: Promise<void> | null = null;
  #events: EventStream | null = null;
  readonly #listeners = new Set<(e: StampedEvent) => void>();

  constructor(
    private readonly model: ReadModel,
    private readonly log: Logger,
    replaySize: number,
  ) {
    this.replay = new ReplayBuffer(replaySize);
  }

  get lastSeq(): number {
    return this.#last;
  }

  setFanout(f: EventFanout): void {
    this.#fanout = f;
  }

  /** In-process subscribers, after the fan-out. */
  subscribe(fn: (e: StampedEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The fleet as the cluster last recorded it, the recent events for `?since=`, then live. */
  async start(events: EventStream, registry: Pick<RegistryKv, 'allStatuses'>): Promise<void> {
    this.#events = events;
    const { first, last } = await events.bounds();
    for (const s of await registry.allStatuses()) this.model.apply(s);
    await this.#history(events, Math.max(first - 1, last - this.replay.capacity), last);
    this.#last = last;
    this.#following = this.#follow(events, registry);
  }

  /**
   * Read again from the last seq applied: after NATS came back, a consumer
   * from before may never deliver again, and reading twice loses nothing
   * (events up to the last seq are skipped).
   */
  reread(): void {
    this.#reader?.stop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reader?.stop();
    await this.#following;
  }

  /** A client's `?since=` older than the replay buffer: read back from the stream itself, as far as it keeps. */
  async history(since: number, upTo: number): Promise<StampedEvent[] | null> {
    if (!this.#events || upTo - since > HISTORY_MAX) return null;
    if (upTo <= since) return [];
    const out: StampedEvent[] = [];
    const reader = await this.#events.read({ since });
    try {
      for await (const item of reader) {
        // A client is not handed a hole: it resyncs instead.
        if (item.kind !== 'event') return null;
        if (item.event.seq > upTo) break;
        out.push(stamp(item.event, item.json));
        if (item.event.seq === upTo) break;
      }
    } finally {
      reader.stop();
    }
    return out;
  }

  /** Events (from, to] into the replay buffer only: the statuses read before are newer than they are. */
  async #history(events: EventStream, from: number, to: number): Promise<void> {
    if (to <= from) return;
    const reader = await events.read({ since: from });
    try {
      for await (const item of reader) {
        if (item.kind === 'resync') break;
        if (item.kind === 'invalid') continue;
        if (item.event.seq > to) break;
        this.replay.push(stamp(item.event, item.json));
        if (item.event.seq === to) break;
      }
    } finally {
      reader.stop();
    }
  }

  async #follow(events: EventStream, registry: Pick<RegistryKv, 'allStatuses'>): Promise<void> {
    while (!this.#stopped) {
      try {
        this.#reader = await events.read({ since: this.#last });
        for await (const item of this.#reader) {
          if (item.kind === 'resync') {
            // Events aged out of the stream before this node read them: what they
            // changed is in the status bucket. Clients behind that point get Resync
            // on their next connect (the replay buffer no longer reaches them).
            this.log.warn({ since: item.since, first: item.first }, 'cluster stream: events aged out before this node read them; reloading host statuses');
            for (const s of await registry.allStatuses()) this.model.apply(s);
            this.#last = item.first - 1;
            break;
          }
          if (item.kind === 'invalid') {
            // Skipped, or every read would stop here again. Clients see the seq
            // missing, and resync (the replay buffer serves no `since` across it).
            this.log.error({ seq: item.seq, subject: item.subject, reason: item.reason }, 'cluster stream: a message that is no event was skipped');
            this.#last = item.seq;
            continue;
          }
          this.#apply(item.event, item.json);
        }
      } catch (err) {
        if (!this.#stopped) this.log.warn({ err: (err as Error).message }, 'cluster stream reader stopped; reading again');
      }
      this.#reader?.stop();
      if (!this.#stopped) await new Promise((r) => setTimeout(r, REOPEN_MS));
    }
  }

  #apply(e: StreamEvent, json: string): void {
    if (e.seq <= this.#last) return;
    if (e.type === 'HostUpdated') this.model.apply(e.status);
    else if (e.type === 'HostRemoved') this.model.remove(e.host);
    const s = stamp(e, json);
    this.#last = e.seq;
    this.replay.push(s);
    this.#fanout?.deliver([s]);
    for (const fn of this.#listeners) fn(s);
  }
}

/** `json`: the event with its seq as the stream reader serialised it (once per node, not per use). */
function stamp(e: StreamEvent, json: string): StampedEvent {
  return { seq: e.seq, type: e.type, host: 'host' in e ? e.host : null, event: e, json };
}
