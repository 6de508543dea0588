// Audit lines for what host actors do on their own once a request set them
// going: an update starting and finishing, a reboot being triggered. Each is
// a lifecycle fact the host's machine decided (common/host-machine.ts), which
// this file only writes down; the acting user is the one recorded on the job.
import type { Lifecycle } from '../../common/host-machine.js';
import type { LifecycleFeed, LifecycleMessage } from '../events/lifecycle-feed.js';
import type { JobStore } from '../jobs/job-store.js';
import type { AuditRecord } from './audit-log.js';

export interface AuditRecorder {
  record(r: AuditRecord): void;
}

/** The audit line's action, result and details for one fact. */
function describe(fact: Lifecycle): Pick<AuditRecord, 'action' | 'result' | 'details'> {
  switch (fact.kind) {
    case 'update_started':
      return { action: 'update.started', result: 'ok', details: { dry_run: fact.dry_run } };
    case 'update_finished':
      return { action: 'update.finished', result: fact.result, details: { dry_run: fact.dry_run, upgraded: fact.upgraded, reboot_required: fact.reboot_required } };
    case 'reboot_triggered':
      return { action: 'reboot.triggered', result: 'ok' };
  }
}

export function attachActorAudit(lifecycle: Pick<LifecycleFeed, 'subscribe'>, jobs: Pick<JobStore, 'get'>, audit: AuditRecorder): () => void {
  return lifecycle.subscribe((m: LifecycleMessage) => {
    const job = m.job_id ? jobs.get(m.job_id) : undefined;
    audit.record({
      ...describe(m.fact),
      host: m.host,
      user: job?.user ?? null,
      source_ip: null,
      job_id: m.job_id,
      request_id: m.request_id ?? job?.request_id ?? null,
    });
  });
}
