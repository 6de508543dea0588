// One plain line per stream event: what `tendhost events` prints and what
// `--follow` prints when stdout is not a terminal.
import type { StreamEvent } from '../client/types.js';

export function counts(c: { completed: number; failed: number; unreachable: number; skipped: number }): string {
  return `completed ${c.completed}, failed ${c.failed}, unreachable ${c.unreachable}, skipped ${c.skipped}`;
}

/** The event without its time and seq (callers prefix what they need). */
export function describeEvent(e: StreamEvent): string {
  switch (e.type) {
    case 'HostStateChanged':
      return `${e.host}: ${e.from} -> ${e.to}`;
    case 'UpdateProgress':
      return `${e.host}: ${e.package} ${e.progress}`;
    case 'UpdateCompleted': {
      const r = e.result;
      if (!r.success) return `${e.host}: update failed${r.error_code ? ` ${r.error_code}` : ''}${r.error ? `: ${r.error}` : ''}`;
      return `${e.host}: ${r.dry_run ? 'dry run' : 'update'} done: ${r.upgraded} upgraded, ${r.new} new, ${r.removed} removed${r.reboot_required ? ', reboot required' : ''}`;
    }
    case 'HostConnected':
      return `${e.host}: connected`;
    case 'HostDisconnected':
      return `${e.host}: disconnected (${e.reason})`;
    case 'HostUpdated':
      return `${e.host}: status ${e.status.state}${e.status.pending_updates !== null ? `, ${e.status.pending_updates} pending` : ''}${e.status.error ? `, error: ${e.status.error}` : ''}`;
    case 'HostRemoved':
      return `${e.host}: removed`;
    case 'JobStarted':
      return `job ${e.job_id}: ${e.kind}${e.dry_run ? ' (dry run)' : ''} started on ${e.total} host${e.total === 1 ? '' : 's'}`;
    case 'JobFinished':
      return `job ${e.job_id}: ${e.state}: ${counts(e)} of ${e.total}${e.error ? ` (${e.error})` : ''}`;
    case 'FleetUpdateStarted':
      return `fleet update ${e.job_id}: started on ${e.total} hosts`;
    case 'FleetUpdateProgress':
      return `fleet update ${e.job_id}: batch ${e.batch}: ${counts(e)}, in progress ${e.in_progress}`;
    case 'FleetUpdateCompleted':
      return `fleet update ${e.job_id}: completed: ${counts(e)} of ${e.total}${e.aborted_reason ? ` (aborted: ${e.aborted_reason})` : ''}`;
    default:
      // A newer daemon's event type: print what it is rather than nothing.
      return (e as { type: string }).type;
  }
}

/** `HH:MM:SS` of an event's ISO timestamp (UTC, like the daemon's). */
export function clock(ts: string): string {
  return ts.slice(11, 19);
}
