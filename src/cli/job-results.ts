// A job's outcome for people (the summary a follow ends with, `tendhost job`)
// and as an exit code.
import type { NodeTendhostClient } from '../client/node.js';
import type { Job, JobHostResult } from '../client/types.js';
import { CLI_EXIT } from './exit-codes.js';
import { counts } from './event-lines.js';
import { table, dash } from './format.js';

/** Succeeded on every host: 0; anything else: 1. */
export function jobExitCode(job: Job): number {
  const ok = job.state === 'succeeded' && job.summary.failed === 0 && job.summary.unreachable === 0;
  return ok ? CLI_EXIT.OK : CLI_EXIT.FAILED;
}

export function jobHeadline(job: Job): string {
  const took = job.started_at && job.finished_at ? ` in ${((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000).toFixed(1)} s` : '';
  const s = job.summary;
  return `job ${job.id} ${job.kind}${job.dry_run ? ' (dry run)' : ''} ${job.state}${took}: ${counts(s)} of ${s.total}${s.running + s.pending > 0 ? `, running ${s.running}, pending ${s.pending}` : ''}${job.error ? ` (${job.error})` : ''}`;
}

/** The hosts that did not succeed (first `limit`), read page by page. */
export async function problemHosts(client: NodeTendhostClient, id: string, limit: number): Promise<JobHostResult[]> {
  const out: JobHostResult[] = [];
  for (const state of ['failed', 'unreachable'] as const) {
    for await (const h of client.allJobHosts(id, { state })) {
      if (out.length >= limit) return out;
      out.push(h);
    }
  }
  return out;
}

export function hostResultTable(rows: JobHostResult[], width: number): string {
  return table(
    ['HOST', 'RESULT', 'HOST STATE', 'CODE', 'ERROR'],
    rows.map((h) => [h.host, h.state, dash(h.host_state), dash(h.code), dash(h.error ?? h.reason)]),
    width,
  );
}

/** Headline, then a table of the hosts that failed or were unreachable. */
export async function jobSummary(client: NodeTendhostClient, job: Job, width: number): Promise<string> {
  const lines = [jobHeadline(job)];
  if (job.summary.failed + job.summary.unreachable > 0) {
    const limit = 20;
    const bad = await problemHosts(client, job.id, limit);
    lines.push(hostResultTable(bad, width));
    const more = job.summary.failed + job.summary.unreachable - bad.length;
    if (more > 0) lines.push(`… and ${more} more: tendhost job ${job.id} --state failed`);
  }
  return lines.join('\n');
}
