// The front process's event-loop delay, per window: a scrape reads the last
// complete window, so a stall between scrapes still shows. Node samples it
// with a native timer; a sample is the time between two ticks, so the
// interval is taken off again.
//
// The timer is what an idle daemon pays for the figure: at 10 ms it woke the
// front 100 times a second, about a third of an idle daemon's CPU. So the
// resolution follows the work: fine while the loop works (a stall of tens of
// ms shows in full), coarse after a window in which it hardly ran — an idle
// loop has no stall to see, and the first busy window after one still shows
// any stall longer than the coarse interval.
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

export const DELAY_WINDOW_MS = 5000;
export const BUSY_RESOLUTION_MS = 10;
export const IDLE_RESOLUTION_MS = 100;
/**
 * A window in which the loop ran less than this share of the time was idle.
 * Not 1 %: an idle front holding 100,000 hosts runs 0.6–1.2 % of the time
 * (its own timers, V8's housekeeping), so it flipped between the two rates.
 */
const IDLE_UTILIZATION = 0.05;

export interface DelayWindow {
  p50: number;
  p99: number;
  max: number;
}

export class EventLoopDelayWindows {
  #last: DelayWindow = { p50: 0, p99: 0, max: 0 };
  #histogram!: IntervalHistogram;
  #resolutionMs = BUSY_RESOLUTION_MS;
  #utilization = performance.eventLoopUtilization();
  readonly #timer: NodeJS.Timeout;

  constructor(windowMs = DELAY_WINDOW_MS) {
    this.#sample(BUSY_RESOLUTION_MS);
    this.#timer = setInterval(() => this.#nextWindow(), windowMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }

  /** The last complete window, in ms beyond the sampling interval. */
  get last(): DelayWindow {
    return this.#last;
  }

  #sample(resolutionMs: number): void {
    this.#resolutionMs = resolutionMs;
    this.#histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#histogram.enable();
  }

  #nextWindow(): void {
    const h = this.#histogram;
    h.disable();
    const beyondTick = (ns: number): number => Math.max(0, ns / 1e6 - this.#resolutionMs);
    this.#last = { p50: beyondTick(h.percentile(50)), p99: beyondTick(h.percentile(99)), max: beyondTick(h.max) };
    const now = performance.eventLoopUtilization();
    const idle = performance.eventLoopUtilization(now, this.#utilization).utilization < IDLE_UTILIZATION;
    this.#utilization = now;
    this.#sample(idle ? IDLE_RESOLUTION_MS : BUSY_RESOLUTION_MS);
  }
}
