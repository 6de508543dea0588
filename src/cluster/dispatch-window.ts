// How many of a cluster rollout's hosts the coordinator has sent to their
// owners and not yet heard back about. An owner answers a dispatch once the
// host's shard has room for it (src/pool/shard-room.ts), so this keeps about
// as many hosts in flight as the members can connect at once, instead of a
// whole batch dispatched — and moved to `querying` on every node — at once.
import type { CommandReply } from '../../common/thread-protocol.js';
import type { RolloutDeps } from '../fleet/rollout-deps.js';
import { WaitingLine } from '../pool/waiting-line.js';

export class DispatchWindow {
  readonly #limit: () => number;
  readonly #line = new WaitingLine();
  #open = 0;

  /** `limit`: read on every take and release (the members change). */
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

/** A rollout's pool over `dispatch`: a host takes a place in `window` before it is sent and holds it until its owner answers. */
export function pacedDispatch(window: DispatchWindow, dispatch: (host: string, dryRun: boolean) => Promise<CommandReply>): RolloutDeps['pool'] {
  return {
    command: (host, cmd) => (cmd.kind === 'update' ? dispatch(host, cmd.dry_run).finally(() => window.release()) : Promise.reject(new Error(`a rollout sends updates only, not ${cmd.kind}`))),
    room: (_host, signal) => window.take(signal),
    releaseRoom: () => window.release(),
  };
}
