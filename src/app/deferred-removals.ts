// Hosts a reload removed from the file but could not remove yet (busy, or the
// cluster away): tried again every second until they go, or until they are
// back in the file. One try per host at a time. Used by the single daemon's
// reload and a cluster node's alike; each says what one try does.
import type { Logger } from 'pino';

/** What one try came to: gone, try again later, or not this file's to remove (stop trying). */
export type RemovalOutcome = 'removed' | 'later' | 'kept';

export interface DeferredRemovalsDeps {
  tryRemove: (name: string) => Promise<RemovalOutcome>;
  /** Put back into the file meanwhile: no longer to be removed. */
  inFile: (name: string) => boolean;
  log: Logger;
  intervalMs?: number;
}

export class DeferredRemovals {
  readonly #pending = new Set<string>();
  readonly #trying = new Set<string>();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: DeferredRemovalsDeps) {}

  add(name: string): void {
    this.#pending.add(name);
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.d.intervalMs ?? 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    for (const name of [...this.#pending]) {
      if (this.d.inFile(name)) {
        this.#pending.delete(name);
        continue;
      }
      if (this.#trying.has(name)) continue; // the last try has not answered yet
      this.#trying.add(name);
      void this.d.tryRemove(name).then((outcome) => {
        this.#trying.delete(name);
        if (outcome === 'later') return;
        this.#pending.delete(name);
        if (outcome === 'removed') this.d.log.info({ host: name }, 'host removed from config is idle now and was removed');
      });
    }
    if (this.#pending.size === 0) this.stop();
  }
}
