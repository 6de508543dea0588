// How many of a cluster rollout's hosts the coordinator has sent to each
// owner and not yet heard back about. An owner answers a dispatch once the
// host's shard has room for it (src/pool/shard-room.ts), so this keeps about
// as many hosts in flight as the members can connect at once, instead of a
// whole batch dispatched — and moved to `querying` on every node — at once.
// One window per owner: a slow or dead owner fills its own, never the others'.
import type { CommandReply } from '../../common/thread-protocol.js';
import type { RolloutDeps } from '../fleet/rollout-deps.js';
import { WaitingLine } from '../pool/waiting-line.js';

export class DispatchWindow {
  readonly #limit: () => number;
  readonly #line = new WaitingLine();
  #open = 0;

  /** `limit`: read on every take and release (it may change). */
  constructor(limit: () => number) {
    this.#limit = limit;
  }

  /** True: a place now (give it back with release()). Otherwise true once one frees, false if `signal` aborts first. */
  take(signal?: AbortSignal): true | Promise<boolean> {
    if (this.#line.length === 0 && this.#free()) {
      this.#open++;
      return true;
    }
    return this.#line.wait(signal);
  }

  release(): void {
    this.#open = Math.max(0, this.#open - 1);
    this.#line.serve(() => this.#free(), () => this.#open++);
  }

  get open(): number {
    return this.#open;
  }

  #free(): boolean {
    return this.#open < Math.max(1, this.#limit());
  }
}

/** A window of `limit()` places per owner (a node; a shard in tests), made on first use. */
export class OwnerWindows {
  readonly #limit: () => number;
  readonly #windows = new Map<string, DispatchWindow>();

  constructor(limit: () => number) {
    this.#limit = limit;
  }

  of(owner: string): DispatchWindow {
    let w = this.#windows.get(owner);
    if (!w) this.#windows.set(owner, (w = new DispatchWindow(this.#limit)));
    return w;
  }

  /** Places taken over all owners. */
  get open(): number {
    let n = 0;
    for (const w of this.#windows.values()) n += w.open;
    return n;
  }
}

/**
 * A rollout's room over `windows`: a host takes a place in its owner's window
 * (`ownerOf` when it asks; null: the partition has no owner right now) and
 * gives it back through `release(host)`.
 */
export class HostRoom {
  readonly #held = new Map<string, DispatchWindow>();

  constructor(
    private readonly windows: OwnerWindows,
    private readonly ownerOf: (host: string) => string | null,
  ) {}

  take(host: string, signal?: AbortSignal): true | Promise<boolean> {
    const w = this.windows.of(this.ownerOf(host) ?? '');
    const room = w.take(signal);
    if (room === true) {
      this.#held.set(host, w);
      return true;
    }
    return room.then((granted) => {
      if (granted) this.#held.set(host, w);
      return granted;
    });
  }

  release(host: string): void {
    const w = this.#held.get(host);
    if (!w) return;
    this.#held.delete(host);
    w.release();
  }
}

/** A rollout's pool over `dispatch`: a host takes a place in its owner's window before it is sent and holds it until its owner answers. */
export function pacedDispatch(room: HostRoom, dispatch: (host: string, dryRun: boolean) => Promise<CommandReply>): RolloutDeps['pool'] {
  return {
    command: (host, cmd) => (cmd.kind === 'update' ? dispatch(host, cmd.dry_run).finally(() => room.release(host)) : Promise.reject(new Error(`a rollout sends updates only, not ${cmd.kind}`))),
    room: (host, signal) => room.take(host, signal),
    releaseRoom: (host) => room.release(host),
  };
}
