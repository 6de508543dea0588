// Audit lines for what host actors do on their own once a request set them
// going: an update starting and finishing, a reboot being triggered. They come
// from the broadcaster's stamped events (which carry job_id and request_id);
// the acting user is the one recorded on the job.
import type { Broadcaster } from '../events/broadcaster.js';
import type { StampedEvent } from '../events/replay-buffer.js';
import type { JobStore } from '../jobs/job-store.js';
import type { ReadModel } from '../state/read-model.js';
import type { AuditRecord } from './audit-log.js';

export interface AuditRecorder {
  record(r: AuditRecord): void;
}

interface Started {
  job_id: string | null;
  request_id: string | null;
  dry_run: boolean;
}

const UPDATE_JOBS = new Set(['update', 'fleet_update']);

export function attachActorAudit(broadcaster: Broadcaster, jobs: JobStore, model: ReadModel, audit: AuditRecorder): () => void {
  // Hosts with an update under way: the start is recorded once, the end once.
  const running = new Map<string, Started>();

  const line = (action: string, host: string, result: string, trace: { job_id?: string | null; request_id?: string | null }, details?: Record<string, unknown>) => {
    const job = trace.job_id ? jobs.get(trace.job_id) : undefined;
    audit.record({
      action,
      host,
      user: job?.user ?? null,
      source_ip: null,
      result,
      job_id: trace.job_id ?? null,
      request_id: trace.request_id ?? job?.request_id ?? null,
      ...(details ? { details } : {}),
    });
  };

  return broadcaster.subscribe((s: StampedEvent) => {
    const e = s.event;
    if (e.type === 'HostStateChanged') {
      if (e.to === 'querying' && !running.has(e.host)) {
        const job = e.job_id ? jobs.get(e.job_id) : undefined;
        if (job && !UPDATE_JOBS.has(job.kind)) return;
        const started = { job_id: e.job_id ?? null, request_id: e.request_id ?? null, dry_run: job?.dry_run ?? false };
        running.set(e.host, started);
        line('update.started', e.host, 'ok', started, { dry_run: started.dry_run });
      } else if (e.from === 'waiting_reboot' && e.to === 'rebooting') {
        line('reboot.triggered', e.host, 'ok', e);
      } else if ((e.to === 'idle' || e.to === 'failed' || e.to === 'waiting_reboot') && running.has(e.host)) {
        // Ended without an UpdateCompleted (nothing to upgrade, or the query failed).
        const started = running.get(e.host) as Started;
        running.delete(e.host);
        const code = e.to === 'failed' ? (model.get(e.host)?.failed?.code ?? 'FAILED') : 'ok';
        line('update.finished', e.host, code, started, { dry_run: started.dry_run, upgraded: 0 });
      }
    } else if (e.type === 'UpdateCompleted') {
      const started = running.get(e.host);
      running.delete(e.host);
      const r = e.result;
      line('update.finished', e.host, r.success ? 'ok' : (r.error_code ?? 'failed'), started ?? e, {
        dry_run: r.dry_run,
        upgraded: r.upgraded,
        reboot_required: r.reboot_required,
      });
    }
  });
}
