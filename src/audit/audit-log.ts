// The audit trail: one JSON line per state-changing request and per actor
// action, appended to the audit file. Lines are buffered and written +
// fsync'd in batches (every 200 ms or 256 lines); close() flushes what is
// left, so a graceful shutdown loses nothing.
import { openSync, writeSync, fsyncSync, closeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export interface AuditRecord {
  action: string;
  host: string | null;
  user: string | null;
  source_ip: string | null;
  result: string;
  job_id: string | null;
  request_id?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditSink {
  write(lines: string[]): void | Promise<void>;
  close?(): void | Promise<void>;
}

export class AuditLog {
  #buffer: string[] = [];
  #timer: NodeJS.Timeout | null = null;
  #fd: number | null;
  readonly #extra: AuditSink[];
  readonly #log: Logger;
  #closed = false;

  constructor(file: string, log: Logger, extraSinks: AuditSink[] = []) {
    mkdirSync(dirname(file), { recursive: true });
    this.#fd = openSync(file, 'a', 0o640);
    this.#extra = extraSinks;
    this.#log = log;
  }

  record(r: AuditRecord): void {
    if (this.#closed) return;
    // Every line has the same keys, in the same order.
    const line = JSON.stringify({
      timestamp: new Date().toISOString(),
      action: r.action,
      host: r.host,
      user: r.user,
      source_ip: r.source_ip,
      result: r.result,
      job_id: r.job_id,
      request_id: r.request_id ?? null,
      ...(r.details ? { details: r.details } : {}),
    });
    this.#buffer.push(line);
    if (this.#buffer.length >= 256) this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), 200);
      this.#timer.unref();
    }
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#buffer.length === 0 || this.#fd === null) return;
    const lines = this.#buffer;
    this.#buffer = [];
    try {
      writeSync(this.#fd, lines.join('\n') + '\n');
      fsyncSync(this.#fd);
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'audit write failed');
    }
    for (const sink of this.#extra) {
      try {
        void Promise.resolve(sink.write(lines)).catch((err) => this.#log.warn({ err: (err as Error).message }, 'audit sink failed'));
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'audit sink failed');
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    await Promise.allSettled(this.#extra.map((s) => s.close?.()));
  }
}
