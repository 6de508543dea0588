// Each host's last status into the status bucket, as a KV put is on the wire
// (a message on `$KV.<bucket>.<key>`), through acked-publish.ts in windows
// rather than one request per status. While a window is out, newer statuses
// gather; a host that changed again meanwhile has only its newest written
// (the bucket keeps one value per key: the older one would be overwritten at
// once). A window that fails is sent again, unless a newer status came.
import type { AckedPublisher } from './acked-publish.js';

const WINDOW = 256;
const RETRY_MS = 500;
const ACK_TIMEOUT_MS = 5000;

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

interface Entry {
  data: string;
  waiters: Waiter[];
}

export class StatusWriter {
  readonly #queued = new Map<string, Entry>();
  #pumping = false;
  #closed = false;

  constructor(
    private readonly acks: AckedPublisher,
    /** `$KV.<bucket>.` */
    private readonly prefix: string,
  ) {}

  /** Resolves once this value, or a newer one for the key, is stored. */
  put(key: string, data: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('status writer is closed'));
    return new Promise((resolve, reject) => {
      const before = this.#queued.get(key);
      // Re-inserted at the end: keys go out in the order of their latest change.
      this.#queued.delete(key);
      this.#queued.set(key, { data, waiters: [...(before?.waiters ?? []), { resolve, reject }] });
      if (!this.#pumping) {
        this.#pumping = true;
        // The rest of this turn's statuses join the first window.
        setImmediate(() => void this.#pump());
      }
    });
  }

  /** Drop a key's unsent status (the host is being removed); its waiters resolve. */
  forget(key: string): void {
    const e = this.#queued.get(key);
    this.#queued.delete(key);
    for (const w of e?.waiters ?? []) w.resolve();
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#queued.values()) for (const w of e.waiters) w.reject(new Error('status writer is closed'));
    this.#queued.clear();
  }

  async #pump(): Promise<void> {
    try {
      while (this.#queued.size > 0 && !this.#closed) {
        if (this.acks.isClosed()) return this.close();
        const window: Array<[string, Entry]> = [];
        for (const kv of this.#queued) {
          window.push(kv);
          if (window.length === WINDOW) break;
        }
        for (const [key] of window) this.#queued.delete(key);
        const results = await this.acks.send(
          window.map(([key, e]) => ({ subject: this.prefix + key, data: e.data })),
          ACK_TIMEOUT_MS,
        );
        let failed = false;
        results.forEach((r, i) => {
          const [key, e] = window[i]!;
          if (typeof r === 'number') {
            for (const w of e.waiters) w.resolve();
            return;
          }
          failed = true;
          const newer = this.#queued.get(key);
          if (newer) newer.waiters.unshift(...e.waiters);
          else this.#queued.set(key, e);
        });
        if (failed) await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    } finally {
      this.#pumping = false;
      if (this.#queued.size > 0 && !this.#closed) {
        this.#pumping = true;
        setImmediate(() => void this.#pump());
      }
    }
  }
}
