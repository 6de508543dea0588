// Where start-up time goes, stage by stage: at 100,000 hosts "slow to start"
// is only actionable when it says which step (config parse, validation, store
// restore, shard attach …). Read in GET /health and the "listening" log line.
import { performance } from 'node:perf_hooks';

export class StartupStages {
  readonly #stages: Record<string, number> = {};
  #last: number;

  /** The first lap runs from process start (module loading included). */
  constructor(since = 0) {
    this.#last = since;
  }

  /** Close the current stage under `name` (ms since the previous lap); repeated names add up. */
  lap(name: string): void {
    const now = performance.now();
    this.#stages[name] = round1((this.#stages[name] ?? 0) + now - this.#last);
    this.#last = now;
  }

  /** Milliseconds from process start to the last lap. */
  get totalMs(): number {
    return round1(this.#last);
  }

  get stages(): Readonly<Record<string, number>> {
    return this.#stages;
  }
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
