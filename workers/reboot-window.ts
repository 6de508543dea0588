// When a host waiting for a reboot may reboot: now, if its policy reboots by
// itself and its maintenance window is open; else, when the window opens,
// through a timer the actor's operation rests on until then.
import { isInWindow, msUntilWindow } from '../common/maintenance-window.js';
import type { ResolvedHost } from '../common/schemas/host.js';

export class RebootWindow {
  #timer: NodeJS.Timeout | null = null;
  readonly #now: () => Date;

  constructor(now: () => Date) {
    this.#now = now;
  }

  /** True: reboot now. False: not by itself, or `whenOpen` runs once the window opens. */
  allows(policy: ResolvedHost['policy'], whenOpen: () => void): boolean {
    const { auto_reboot, maintenance_window } = policy;
    if (!auto_reboot) return false;
    const now = this.#now();
    if (isInWindow(maintenance_window, now)) return true;
    const wait = msUntilWindow(maintenance_window, now);
    if (Number.isFinite(wait)) {
      // setTimeout takes at most 2^31-1 ms (about 24.8 days); a longer wait would fire at once.
      this.#timer = setTimeout(() => {
        this.#timer = null;
        whenOpen();
      }, Math.min(wait, 2 ** 31 - 1));
      this.#timer.unref();
    }
    return false;
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
