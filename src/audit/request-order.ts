// Cause before effect in the audit trail. A request's own line is written when
// the shard's reply reaches the front; the lines of what it set going
// (update.started, …) come from the shard's events, on another MessagePort.
// Two ports keep no order between them, so an event can land first. An actor
// line whose request has not been audited yet therefore waits behind that
// request's line — at most HOLD_MS, so a line is never lost to a request that
// is never audited.
import type { AuditLog, AuditRecord } from './audit-log.js';

const HOLD_MS = 2_000;
/** Request ids already audited that actor lines may still name (most recent). */
const SEEN_MAX = 4_096;

export class RequestOrderedAudit {
  readonly #log: AuditLog;
  readonly #seen = new Set<string>();
  readonly #held = new Map<string, { lines: AuditRecord[]; timer: NodeJS.Timeout }>();

  constructor(log: AuditLog) {
    this.#log = log;
  }

  /** A line of its own (start-up, shutdown, interruptions): written at once. */
  record(r: AuditRecord): void {
    this.#log.record(r);
  }

  /** A request's line: written, then whatever its actors did meanwhile. */
  recordRequest(r: AuditRecord): void {
    this.#log.record(r);
    const id = r.request_id;
    if (!id) return;
    this.#seen.add(id);
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.values().next().value!);
    this.#release(id);
  }

  /** An actor's line: behind its request's line. */
  recordAfterRequest(r: AuditRecord): void {
    const id = r.request_id;
    if (!id || this.#seen.has(id)) return this.#log.record(r);
    const held = this.#held.get(id);
    if (held) return void held.lines.push(r);
    const timer = setTimeout(() => this.#release(id), HOLD_MS);
    timer.unref();
    this.#held.set(id, { lines: [r], timer });
  }

  async close(): Promise<void> {
    for (const id of [...this.#held.keys()]) this.#release(id);
    await this.#log.close();
  }

  #release(id: string): void {
    const held = this.#held.get(id);
    if (!held) return;
    this.#held.delete(id);
    clearTimeout(held.timer);
    for (const line of held.lines) this.#log.record(line);
  }
}
