// Start-up from the state store: the last run's hosts, jobs and events, in
// the order a client resuming with ?since= must see them; from then on the
// store records every change the broadcaster and the job store make.
import type { Logger } from 'pino';
import type { Config } from '../../common/config-types.js';
import { announceJobs } from '../events/job-announcer.js';
import type { Broadcaster } from '../events/broadcaster.js';
import type { JobStore } from '../jobs/job-store.js';
import type { ReadModel } from '../state/read-model.js';
import { StateStore, type LoadedState } from '../store/state-store.js';
import type { RestoreFrom } from './host-registry.js';
import type { Recovery } from './recovery.js';

export interface ResumeParts {
  model: ReadModel;
  jobs: JobStore;
  broadcaster: Broadcaster;
  recovery: Recovery;
  isHost: (name: string) => boolean;
}

export async function resumeLastRun(
  state: LoadedState,
  storeFile: string,
  config: Config,
  log: Logger,
  { model, jobs, broadcaster, recovery, isHost }: ResumeParts,
): Promise<{ store: StateStore; restoreFrom: RestoreFrom }> {
  const restoreFrom = recovery.restoreLastRun(state, isHost);
  broadcaster.restore(state.events, state.lastSeq);
  recovery.announceInterruptedJobs();
  announceJobs(jobs, broadcaster);
  // A fresh daemon (no event ever) takes its hosts' first statuses silently.
  broadcaster.startingFrom((name) => state.statuses.get(name), { announceNew: broadcaster.lastSeq > 0 });
  const store = await StateStore.start(
    storeFile,
    log,
    { eventRetention: Math.max(config.daemon.ws.replay_buffer, 1000), jobRetention: 10_000, nice: config.workers.nice },
    (n) => model.json(n),
  );
  broadcaster.setPersist({ status: (s) => store.status(s), removed: (n) => store.removeStatus(n), event: (seq, json) => store.event(seq, json) });
  jobs.setOnChange((j, host) => store.job(j, host));
  for (const j of jobs.list()) store.job(j);
  recovery.announceInterruptedHosts();
  return { store, restoreFrom };
}
