// The last events as one-line texts for the bottom of the screen, and the
// latest package each host reported (UpdateProgress) for its details. Bounded:
// a fixed ring of lines and one entry per host that is updating now.
import type { StreamEvent } from '../../client/types.js';
import type { UpdateResult } from '../../../common/schemas/packages.js';
import { clean } from './sanitize.js';

export interface TailLine {
  ts: string;
  text: string;
}

export class EventTail {
  readonly #lines: TailLine[] = [];
  readonly #max: number;
  readonly #progress = new Map<string, string>();

  constructor(max = 50) {
    this.#max = max;
  }

  /** Newest last. */
  get lines(): readonly TailLine[] {
    return this.#lines;
  }

  /** "package: progress" of the host's current update, if it reported one. */
  progressOf(host: string): string | undefined {
    return this.#progress.get(host);
  }

  /** Take a batch of events: tail lines and per-host progress. */
  push(batch: readonly StreamEvent[]): void {
    for (const e of batch) {
      this.#trackProgress(e);
      const text = describe(e);
      if (text === null) continue;
      this.#lines.push({ ts: e.ts, text });
    }
    if (this.#lines.length > this.#max) this.#lines.splice(0, this.#lines.length - this.#max);
  }

  /** Say something of our own in the tail (reconnects, action results). */
  note(text: string, ts = new Date().toISOString()): void {
    this.#lines.push({ ts, text: clean(text) });
    if (this.#lines.length > this.#max) this.#lines.shift();
  }

  #trackProgress(e: StreamEvent): void {
    if (e.type === 'UpdateProgress') this.#progress.set(e.host, `${clean(e.package)}: ${clean(e.progress)}`);
    else if (e.type === 'HostStateChanged' && e.to !== 'updating') this.#progress.delete(e.host);
    else if (e.type === 'HostRemoved') this.#progress.delete(e.host);
  }
}

/** One line per event worth reading; HostUpdated repeats what the other events say. */
function describe(e: StreamEvent): string | null {
  switch (e.type) {
    case 'HostStateChanged':
      return `${clean(e.host)}: ${e.from} → ${e.to}`;
    case 'UpdateProgress':
      return `${clean(e.host)}: ${clean(e.package)} ${clean(e.progress)}`;
    case 'UpdateCompleted':
      return `${clean(e.host)}: update finished (${clean(summary(e.result))})`;
    case 'HostConnected':
      return `${clean(e.host)}: connected`;
    case 'HostDisconnected':
      return `${clean(e.host)}: disconnected (${clean(e.reason)})`;
    case 'HostRemoved':
      return `${clean(e.host)}: removed`;
    case 'JobStarted':
      return `job ${clean(e.job_id)} ${e.kind}${e.dry_run ? ' (dry run)' : ''} started on ${e.total === 1 && e.hosts.length === 1 ? clean(e.hosts[0]) : `${e.total} hosts`}`;
    case 'JobFinished':
      return `job ${clean(e.job_id)} ${e.kind}${e.dry_run ? ' (dry run)' : ''} ${e.state}: ${e.completed} completed, ${e.failed} failed, ${e.unreachable} unreachable, ${e.skipped} skipped${e.error ? ` — ${clean(e.error)}` : ''}`;
    case 'FleetUpdateStarted':
      return `fleet update ${clean(e.job_id)} started on ${e.total} hosts`;
    case 'FleetUpdateProgress':
      return `fleet update ${clean(e.job_id)} batch ${e.batch}: ${e.completed} completed, ${e.failed} failed, ${e.unreachable} unreachable`;
    case 'FleetUpdateCompleted':
      return `fleet update ${clean(e.job_id)} done${e.aborted_reason ? ` (aborted: ${clean(e.aborted_reason)})` : ''}`;
    default:
      return null;
  }
}

function summary(r: UpdateResult): string {
  if (!r.success) return `failed: ${r.error_code ?? ''} ${r.error ?? ''}`.trim();
  const what = r.dry_run ? `${r.packages.length} pending (dry run)` : `${r.upgraded} upgraded, ${r.new} new, ${r.removed} removed`;
  return r.reboot_required ? `${what}, reboot required` : what;
}
