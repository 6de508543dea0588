// A host command's job on a cluster node (update, reboot, retry, acknowledge:
// one host, run by its owner through HostActions and kept in the owner's job
// store) recorded in the shared job log as well, so GET /jobs/{id} answers the
// same on every node, and the job outlives its node. The owner writes it when
// the command is accepted (before the 202 goes back) and when it ends; a new
// owner that restores the host failed after its node died ends the job
// interrupted (`interrupted`). Rollouts are not written here: their
// coordinator records them (cluster/job-coordinator.ts).
import type { JobRecord } from '../../common/schemas/job.js';
import { summarize } from '../jobs/job-view.js';
import type { JobLog } from '../cluster/job-log.js';
import type { ClusterJobHeader, ClusterJobHostEntry } from '../cluster/job-log-schema.js';

export class CommandJobMirror {
  /** Writes of one job run in order: the last one is its latest state. */
  readonly #chains = new Map<string, Promise<void>>();
  /** Running jobs whose selection is written. */
  readonly #selected = new Set<string>();

  constructor(
    private readonly log: Pick<JobLog, 'put' | 'header' | 'entry'>,
    private readonly node: { nodeId: string; instance: string },
    private readonly warn: (err: Error) => void,
  ) {}

  /** Write the job as it is now (resolves once written; a failure is warned, not thrown). */
  record(job: JobRecord): Promise<void> {
    const { hosts, ...fields } = job;
    const header: ClusterJobHeader = { ...fields, coordinator: this.node.nodeId, request: null, chunks: 0, summary: summarize(job) };
    const results: ClusterJobHostEntry[] = hosts.filter((h) => h.state !== 'pending').map((h) => ({ node: this.node.nodeId, instance: this.node.instance, result: { ...h } }));
    // The selection never changes: written with the job's first record only (its id is forgotten once the job has ended).
    const selection = !this.#selected.has(job.id);
    if (job.finished_at === null) this.#selected.add(job.id);
    else this.#selected.delete(job.id);
    return this.#chain(job.id, () => this.log.put(header, hosts.map((h) => h.host), results, selection));
  }

  /**
   * The host's node died during the command: its job (if the log has it
   * unfinished) ends interrupted, the host failed with the reason the host
   * itself was restored with.
   */
  interrupted(jobId: string, host: string, reason: string): Promise<void> {
    return this.#chain(jobId, async () => {
      const h = await this.log.header(jobId);
      if (!h || h.value.finished_at !== null || h.value.kind === 'fleet_update') return;
      const at = new Date().toISOString();
      const prev = (await this.log.entry(jobId, host))?.value;
      const entry: ClusterJobHostEntry = {
        node: prev?.node ?? null,
        instance: prev?.instance ?? null,
        result: { host, state: 'failed', host_state: 'failed', error: reason, code: 'INTERRUPTED', reason, finished_at: at },
      };
      const s = h.value.summary;
      const summary = { ...s, running: 0, pending: 0, failed: s.failed + s.running + s.pending };
      await this.log.put({ ...h.value, state: 'interrupted', error: reason, finished_at: at, summary }, [host], [entry]);
    });
  }

  #chain(id: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.#chains.get(id) ?? Promise.resolve()).then(fn).catch((err: Error) => this.warn(err));
    this.#chains.set(id, next);
    void next.then(() => this.#chains.get(id) === next && this.#chains.delete(id));
    return next;
  }
}
