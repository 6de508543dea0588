// dnf and yum wait for another transaction's lock with no limit of their own
// ("Waiting for process with pid 1234 to finish."). The daemon bounds that
// wait: once the tool says it is waiting, the command is killed after the
// lock timeout unless it moves on, and the failure names the holder.
import { TendhostError, asTendhostError } from '../../common/errors.js';

const WAITING = /Waiting for process with pid (\d+) to finish/;

export class LockWait {
  readonly #controller = new AbortController();
  readonly #timeoutMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #holder: string | null = null;
  #gaveUp = false;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Pass to the command: aborted when the wait passes the timeout. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Every output line: a "waiting" line starts the clock, any other line means the lock was had. */
  line(text: string): void {
    const m = WAITING.exec(text);
    if (m) {
      this.#holder = m[1];
      this.#timer ??= setTimeout(() => {
        this.#gaveUp = true;
        this.#controller.abort();
      }, this.#timeoutMs);
    } else if (this.#timer && text.trim()) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  /** The command's failure, as the lock when we gave up waiting for it. */
  explain(err: unknown): TendhostError {
    const e = asTendhostError(err);
    if (!this.#gaveUp) return e;
    return new TendhostError(
      'PACKAGE_MANAGER_LOCKED',
      `package manager is locked by process ${this.#holder}: gave up after waiting ${Math.round(this.#timeoutMs / 1000)} s (lock_timeout_s)`,
      { ...(e.details ?? {}), pid: this.#holder === null ? null : Number(this.#holder), waited_ms: this.#timeoutMs },
    );
  }

  done(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
