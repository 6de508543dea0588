// The cluster's one event stream: every node publishes its host, job and
// fleet events to the JetStream stream TENDHOST_EVENTS (subject
// `tendhost.events.<node_id>`), and the stream's sequence number is the
// cluster-wide `seq`. A reader starts after a given seq (`?since=`) and says
// so when the stream no longer keeps that far back (→ the client resyncs).
import { jetstream, jetstreamManager, DeliverPolicy, RetentionPolicy, DiscardPolicy, type JetStreamClient, type JetStreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { StreamEvent, UnstampedStreamEvent } from '../../common/schemas/stream.js';
import { AckedPublisher } from './acked-publish.js';
import { EventPublisher } from './event-publisher.js';

export const EVENTS_STREAM = 'TENDHOST_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'tendhost.events';

export interface RetentionOptions {
  /** Oldest event kept (default 24 h). */
  maxAgeMs?: number;
  /** Most events kept (default 1,000,000). */
  maxMsgs?: number;
  /** Most bytes kept (default 1 GiB). */
  maxBytes?: number;
}

/**
 * What a reader yields: the next event (and its JSON with the seq), word that
 * `since` is out of reach, or a message on the stream that is no event (not
 * a JSON object with a `type`; a HostUpdated without a status): anyone who
 * may publish on `tendhost.events.>` can put one there, and it must not stop
 * the readers behind it.
 */
export type StreamItem =
  | { kind: 'event'; event: StreamEvent; json: string }
  | { kind: 'resync'; since: number; first: number }
  | { kind: 'invalid'; seq: number; subject: string; reason: string };

export interface StreamBounds {
  /** Oldest seq kept (last + 1 when empty). */
  first: number;
  /** Newest seq (0 when nothing was ever published). */
  last: number;
}

export async function openEventStream(nc: NatsConnection, retention: RetentionOptions = {}): Promise<EventStream> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: EVENTS_STREAM,
    subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: (retention.maxAgeMs ?? 24 * 3600_000) * 1_000_000,
    max_msgs: retention.maxMsgs ?? 1_000_000,
    max_bytes: retention.maxBytes ?? 1024 ** 3,
    duplicate_window: 120 * 1_000_000_000,
  };
  try {
    await jsm.streams.info(EVENTS_STREAM);
    // Retention is the cluster's: the latest node to start sets it.
    await jsm.streams.update(EVENTS_STREAM, config);
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
    await jsm.streams.add(config);
  }
  return new EventStream(nc, jsm);
}

export class EventStream {
  private readonly js: JetStreamClient;
  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
  ) {
    this.js = jetstream(nc);
  }

  async bounds(): Promise<StreamBounds> {
    const info = await this.jsm.streams.info(EVENTS_STREAM);
    return { first: info.state.messages === 0 ? info.state.last_seq + 1 : info.state.first_seq, last: info.state.last_seq };
  }

  publisher(nodeId: string, instance: string): EventPublisher {
    return new EventPublisher(new AckedPublisher(this.nc), nodeId, instance);
  }

  /**
   * Events after `since` (every event when 0), then live ones; without
   * `since`, only events published from now on. When `since` is older than
   * what the stream keeps, the first item is a `resync`; so it is whenever a
   * gap shows up later (events aged out while this reader was behind).
   */
  async read(opts: { since?: number } = {}): Promise<EventReader> {
    const b = await this.bounds();
    const since = opts.since;
    if (since !== undefined && since < b.last && since + 1 < b.first) {
      return EventReader.resyncOnly(since, b.first);
    }
    const start = since === undefined || since >= b.last ? b.last + 1 : since + 1;
    const consumer = await this.js.consumers.get(EVENTS_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
    const messages = await consumer.consume();
    return new EventReader(messages, start - 1);
  }
}

export class EventReader implements AsyncIterable<StreamItem> {
  constructor(
    private readonly messages: ConsumerMessages | null,
    private expectedAfter: number,
    private readonly pendingResync: StreamItem | null = null,
  ) {}

  static resyncOnly(since: number, first: number): EventReader {
    return new EventReader(null, since, { kind: 'resync', since, first });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamItem> {
    if (this.pendingResync) {
      yield this.pendingResync;
      return;
    }
    for await (const m of this.messages!) {
      const seq = m.seq;
      if (seq !== this.expectedAfter + 1) {
        // The stream dropped events this reader had not read yet.
        yield { kind: 'resync', since: this.expectedAfter, first: seq };
        this.stop();
        return;
      }
      this.expectedAfter = seq;
      yield stamped(m.string(), seq, m.subject);
    }
  }

  /** The last seq handed out (or the starting point). */
  position(): number {
    return this.expectedAfter;
  }

  stop(): void {
    this.messages?.stop();
  }
}

/**
 * The event as published plus its seq, and that as JSON: the seq spliced
 * into the text as received (what JSON.stringify({...event, seq}) gives)
 * rather than the event serialised again on every node.
 */
function stamped(text: string, seq: number, subject: string): StreamItem {
  let event: UnstampedStreamEvent & { seq?: number };
  try {
    event = JSON.parse(text);
  } catch {
    return { kind: 'invalid', seq, subject, reason: 'not JSON' };
  }
  const reason = notAnEvent(event);
  if (reason) return { kind: 'invalid', seq, subject, reason };
  if ('seq' in event || text.at(-1) !== '}') {
    const full = { ...event, seq } as StreamEvent;
    return { kind: 'event', event: full, json: JSON.stringify(full) };
  }
  event.seq = seq;
  return { kind: 'event', event: event as StreamEvent, json: `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}"seq":${seq}}` };
}

/**
 * Why a parsed message is no event, or null. Only what a reader relies on is
 * checked (every node reads every event: a full schema check would cost each
 * of them per event); an unknown type is passed on (a newer node's).
 */
function notAnEvent(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const e = value as { type?: unknown; host?: unknown; status?: { name?: unknown } | null };
  if (typeof e.type !== 'string') return 'no type';
  if ('host' in e && typeof e.host !== 'string') return 'host is not a string';
  if (e.type === 'HostUpdated' && (typeof e.status !== 'object' || e.status === null || typeof e.status.name !== 'string')) return 'HostUpdated without a status';
  if (e.type === 'HostRemoved' && typeof e.host !== 'string') return 'HostRemoved without a host';
  return null;
}
