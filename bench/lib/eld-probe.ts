// The machine's own scheduling floor, measured in the same run: event-loop
// delay of this (idle) benchmark process, sampled the way the daemon samples
// its front thread (10 ms ticks, the delay beyond the tick, p99 per window). On a shared 2-core
// machine a process that does nothing still waits for a CPU now and then;
// what the daemon's front shows above this floor is the daemon's own doing.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 10;

export class EldProbe {
  readonly #h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  readonly windows: Array<{ p50: number; p99: number; max: number }> = [];
  #timer: NodeJS.Timeout | null = null;

  start(windowMs = 5000): void {
    this.#h.enable();
    this.#timer = setInterval(() => this.#close(), windowMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#h.disable();
  }

  #close(): void {
    const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    this.windows.push({ p50: ms(this.#h.percentile(50)), p99: ms(this.#h.percentile(99)), max: ms(this.#h.max) });
    this.#h.reset();
  }
}
