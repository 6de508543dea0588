// What a shard has queued for its port until the next batch goes out. A
// host's status is its whole state, so a newer one takes the place of the
// one still queued, where that one stands (ahead of the events it came with:
// a client that reacts to an event reads a state at least as new). Readers
// (the front's read model and store, and in a cluster the status bucket, the
// event stream and every node) then get one HostUpdated per host and batch
// instead of one per step: a dry run's last steps (pending_updates →
// updating → idle, and the job let go) happen in one turn.
import type { PortMessage } from '../common/thread-protocol.js';

export class Outbox {
  #messages: PortMessage[] = [];
  /** Where each host's queued status stands. A removal ends it: a host removed and added back within one batch must end up present. */
  #statusAt = new Map<string, number>();

  get length(): number {
    return this.#messages.length;
  }

  push(msg: PortMessage): void {
    if (msg.kind === 'status') {
      const at = this.#statusAt.get(msg.status.name);
      if (at !== undefined) {
        this.#messages[at] = msg;
        return;
      }
      this.#statusAt.set(msg.status.name, this.#messages.length);
    } else if (msg.kind === 'removed') {
      this.#statusAt.delete(msg.name);
    }
    this.#messages.push(msg);
  }

  /** Everything queued, in order. */
  takeAll(): PortMessage[] {
    const all = this.#messages;
    this.#messages = [];
    this.#statusAt.clear();
    return all;
  }

  /**
   * The statuses queued before the first removal; everything else stays, in
   * order. A status may overtake events, never a removal.
   */
  takeStatuses(): PortMessage[] {
    const cut = this.#messages.findIndex((m) => m.kind === 'removed');
    const end = cut === -1 ? this.#messages.length : cut;
    const statuses: PortMessage[] = [];
    const rest: PortMessage[] = [];
    this.#messages.forEach((m, i) => (i < end && m.kind === 'status' ? statuses : rest).push(m));
    if (statuses.length === 0) return statuses;
    this.#messages = [];
    this.#statusAt.clear();
    for (const m of rest) this.push(m);
    return statuses;
  }
}
