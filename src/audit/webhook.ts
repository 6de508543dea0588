// Audit lines POSTed to a webhook as NDJSON batches. write() only queues, so
// a slow or dead receiver never blocks a request: the queue is bounded and
// drops its oldest lines (counted, with a rate-limited warning) when full.
// A failed POST (network error, timeout, non-2xx) is retried with
// exponential backoff, the batch kept at the head of the queue.
import type { Logger } from 'pino';
import type { AuditSink } from './audit-log.js';

export interface WebhookOptions {
  maxQueue?: number;
  maxBatch?: number;
  /** First retry delay; doubles per failure up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** How long close() keeps trying to deliver what is left. */
  closeDeadlineMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export class WebhookSink implements AuditSink {
  readonly #url: string;
  readonly #log: Logger;
  readonly #o: Required<Omit<WebhookOptions, 'fetch' | 'sleep' | 'now'>>;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  #queue: string[] = [];
  #running: Promise<void> | null = null;
  #closing = false;
  #lastDropWarn = -Infinity;
  #failures = 0;
  dropped = 0;
  delivered = 0;
  attempts = 0;

  constructor(url: string, log: Logger, opts: WebhookOptions = {}) {
    this.#url = url;
    this.#log = log;
    this.#o = {
      maxQueue: opts.maxQueue ?? 10_000,
      maxBatch: opts.maxBatch ?? 500,
      baseBackoffMs: opts.baseBackoffMs ?? 500,
      maxBackoffMs: opts.maxBackoffMs ?? 60_000,
      timeoutMs: opts.timeoutMs ?? 5_000,
      closeDeadlineMs: opts.closeDeadlineMs ?? 3_000,
    };
    this.#fetch = opts.fetch ?? fetch;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms).unref()));
    this.#now = opts.now ?? Date.now;
  }

  get queued(): number {
    return this.#queue.length;
  }

  write(lines: string[]): void {
    if (this.#closing) return;
    for (const l of lines) this.#queue.push(l);
    const over = this.#queue.length - this.#o.maxQueue;
    if (over > 0) {
      this.#queue.splice(0, over);
      this.dropped += over;
      const now = this.#now();
      if (now - this.#lastDropWarn >= 10_000) {
        this.#lastDropWarn = now;
        this.#log.warn({ dropped_total: this.dropped, queue: this.#o.maxQueue, url: this.#url }, 'audit webhook queue full: dropping the oldest lines');
      }
    }
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
    });
  }

  /** Delay before the next attempt after `failures` consecutive failures. */
  backoffMs(failures: number): number {
    return Math.min(this.#o.maxBackoffMs, this.#o.baseBackoffMs * 2 ** Math.max(0, failures - 1));
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, this.#o.maxBatch);
      const droppedBefore = this.dropped;
      const ok = await this.#post(batch);
      if (ok) {
        // Lines dropped meanwhile came off the head (the batch's own first).
        this.#queue.splice(0, Math.max(0, batch.length - (this.dropped - droppedBefore)));
        this.delivered += batch.length;
        this.#failures = 0;
        continue;
      }
      this.#failures++;
      if (this.#closing) return;
      await this.#sleep(this.backoffMs(this.#failures));
    }
  }

  async #post(batch: string[]): Promise<boolean> {
    this.attempts++;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.#o.timeoutMs);
    timer.unref();
    try {
      const res = await this.#fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: batch.join('\n') + '\n',
        signal: ctl.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return true;
      if (this.#failures === 0) this.#log.warn({ url: this.#url, status: res.status }, 'audit webhook refused a batch; retrying with backoff');
      return false;
    } catch (err) {
      if (this.#failures === 0) this.#log.warn({ url: this.#url, err: (err as Error).message }, 'audit webhook unreachable; retrying with backoff');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Try to deliver what is queued, for at most closeDeadlineMs; then report what is left. */
  async close(): Promise<void> {
    if (this.#closing) return;
    const deadline = this.#now() + this.#o.closeDeadlineMs;
    while (this.#queue.length > 0 && this.#now() < deadline) {
      if (this.#running) {
        await Promise.race([this.#running, this.#sleep(50)]);
        continue;
      }
      const batch = this.#queue.slice(0, this.#o.maxBatch);
      if (await this.#post(batch)) {
        this.#queue.splice(0, batch.length);
        this.delivered += batch.length;
      } else await this.#sleep(Math.min(200, Math.max(0, deadline - this.#now())));
    }
    this.#closing = true;
    if (this.#queue.length > 0) {
      this.#log.warn({ url: this.#url, undelivered: this.#queue.length }, 'audit webhook: lines left undelivered at shutdown (they are in the audit file)');
    }
  }
}
