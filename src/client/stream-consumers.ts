// Two ways to consume a live event stream, built only on its public surface
// (subscribe, start, state): an async iterator of its events with a bounded
// queue, and the wait for one job's end without polling.
import { TendhostApiError } from './errors.js';
import type { StreamState } from './stream-socket.js';
import type { Job, StreamEvent } from './types.js';

/** All waitForJob needs of the REST client. */
export interface JobReader {
  getJob(id: string): Promise<Job>;
}

/** What the consumers use of a FleetStream. */
export interface StreamSource {
  readonly state: StreamState;
  start(): void;
  on(what: 'events', fn: (batch: StreamEvent[]) => void): () => void;
  on(what: 'state', fn: (state: StreamState) => void): () => void;
}

/** Every event from now on, in order. Unread events are bounded: past `max` the iterator throws EVENTS_OVERFLOW. */
export function iterateEvents(source: StreamSource, max: number, opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<StreamEvent> {
  const queue: StreamEvent[] = [];
  let failure: Error | null = null;
  let done = false;
  let wake: (() => void) | null = null;
  const off = source.on('events', (batch) => {
    if (done) return;
    if (queue.length + batch.length > max) {
      failure = new TendhostApiError(0, 'EVENTS_OVERFLOW', `more than ${max} events unread: the consumer is too slow`);
      finish();
    } else queue.push(...batch);
    wake?.();
  });
  const offState = source.on('state', (s) => {
    if (s === 'closed') finish();
  });
  const onAbort = () => finish();
  opts.signal?.addEventListener('abort', onAbort);
  function finish() {
    done = true;
    off();
    offState();
    opts.signal?.removeEventListener('abort', onAbort);
    wake?.();
  }
  const iterator: AsyncIterableIterator<StreamEvent> = {
    async next() {
      while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
      wake = null;
      if (queue.length > 0) return { value: queue.shift() as StreamEvent, done: false };
      if (failure) throw failure;
      return { value: undefined, done: true };
    },
    async return() {
      finish();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * The job's final record, without polling: the job is read once now and
 * again after every (re)connection (a JobFinished may have been missed while
 * away), and otherwise the stream's JobFinished says when to read it.
 */
export function waitForJob(source: StreamSource, client: JobReader, id: string, opts: { signal?: AbortSignal } = {}): Promise<Job> {
  return new Promise<Job>((resolve, reject) => {
    let settled = false;
    const offs: Array<() => void> = [];
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      for (const off of offs) off();
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const check = () => {
      client.getJob(id).then(
        (job) => {
          if (job.finished_at !== null) settle(() => resolve(job));
        },
        (err: unknown) => {
          // A lost connection is the stream's to recover from; anything else is final.
          if (!(err instanceof TendhostApiError) || err.status !== 0) settle(() => reject(err));
        },
      );
    };
    const onAbort = () => settle(() => reject(new TendhostApiError(0, 'ABORTED', 'stopped waiting for the job')));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    offs.push(
      source.on('events', (batch) => {
        if (batch.some((e) => e.type === 'JobFinished' && e.job_id === id)) check();
      }),
      source.on('state', (s) => {
        if (s === 'live') check();
        if (s === 'closed') settle(() => reject(new TendhostApiError(0, 'ABORTED', 'the stream was closed')));
      }),
    );
    source.start(); // a stopped stream starts; a running one goes on as it is
    if (source.state === 'live') check();
  });
}
