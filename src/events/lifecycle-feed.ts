// The hosts' update lifecycle as their machines tell it (update started,
// finished with its result, reboot triggered), from the shards and from
// recovery, handed to whoever listens (the audit). It also remembers which
// hosts have an update under way, so recovery can give the machine the intent
// an interrupted host had when its worker was lost.
import type { Intent } from '../../common/host-machine.js';
import type { PortMessage } from '../../common/thread-protocol.js';

export type LifecycleMessage = Extract<PortMessage, { kind: 'lifecycle' }>;

/** An update under way: the machine's intent, and the trace it started with. */
export interface OpenUpdate {
  intent: Intent;
  job_id: string | null;
  request_id: string | null;
}

export class LifecycleFeed {
  readonly #listeners = new Set<(m: LifecycleMessage) => void>();
  /** Hosts whose update started and has not finished. */
  readonly #open = new Map<string, OpenUpdate>();

  report(m: LifecycleMessage): void {
    if (m.fact.kind === 'update_started') this.#open.set(m.host, { intent: { kind: 'update', dry_run: m.fact.dry_run }, job_id: m.job_id, request_id: m.request_id });
    else if (m.fact.kind === 'update_finished') this.#open.delete(m.host);
    for (const fn of this.#listeners) fn(m);
  }

  subscribe(fn: (m: LifecycleMessage) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The update under way on the host, if any. */
  openUpdate(host: string): OpenUpdate | null {
    return this.#open.get(host) ?? null;
  }

  /** The host is gone: nothing of it stays open. */
  forget(host: string): void {
    this.#open.delete(host);
  }
}
