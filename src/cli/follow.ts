// Start an action and, with --follow, watch its job to the end on the event
// stream: the stream is live before the action is sent, so no event of the
// job is missed; the end is the job's record (waitForJob), so the summary's
// counts are the daemon's. Ctrl-C stops following, never the job.
import type { NodeTendhostClient } from '../client/node.js';
import type { FleetStream } from '../client/fleet-stream.js';
import { TendhostApiError } from '../client/errors.js';
import type { Job, JobAccepted, StreamEvent } from '../client/types.js';
import type { CliEnv } from './env.js';
import { CLI_EXIT } from './exit-codes.js';
import { clock, describeEvent } from './event-lines.js';
import { writeJson, writeLine } from './format.js';
import { jobExitCode, jobSummary } from './job-results.js';
import { ProgressView } from './progress-view.js';

export interface ActionOptions {
  follow: boolean;
  json: boolean;
}

/** Events a job's display cares about before its id is known (bounded). */
const MAX_EARLY = 10_000;

export async function runAction(env: CliEnv, client: NodeTendhostClient, start: () => Promise<JobAccepted>, o: ActionOptions): Promise<number> {
  return runActions(env, client, [start], o);
}

/** Start every action (in order); with --follow, follow each job in turn. The exit code is the worst. */
export async function runActions(env: CliEnv, client: NodeTendhostClient, starts: Array<() => Promise<JobAccepted>>, o: ActionOptions): Promise<number> {
  if (!o.follow) {
    const ids: JobAccepted[] = [];
    for (const start of starts) ids.push(await start());
    if (o.json) writeJson(env, ids.length === 1 ? ids[0] : ids);
    else for (const r of ids) writeLine(env, `job ${r.job_id} started; watch it with: tendhost job ${r.job_id}`);
    return CLI_EXIT.OK;
  }
  // Fails fast (exit 3) when the daemon is not there; the stream alone would keep retrying.
  await client.health();
  const stream = client.stream();
  try {
    await openLive(stream);
    // Events that arrive before a job is being displayed are kept (bounded) and replayed to it.
    let early: StreamEvent[] | null = [];
    let feed: ((e: StreamEvent) => void) | null = null;
    const offEvents = stream.on('events', (batch) => {
      if (early) {
        if (early.length + batch.length <= MAX_EARLY) early.push(...batch);
        else early = null;
      }
      if (feed) for (const e of batch) feed(e);
    });
    const ids: string[] = [];
    for (const start of starts) ids.push((await start()).job_id);
    let worst: number = CLI_EXIT.OK;
    for (const id of ids) {
      const code = await followJob(env, client, stream, id, o.json, (fn) => {
        for (const e of early ?? []) fn(e);
        feed = fn;
      });
      feed = null;
      if (code === INTERRUPTED) return CLI_EXIT.FAILED;
      worst = Math.max(worst, code);
    }
    offEvents();
    return worst;
  } finally {
    stream.close();
  }
}

/** followJob's answer when Ctrl-C ended it: stop following the rest too. */
const INTERRUPTED = -1;

function openLive(stream: FleetStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const offs = [
      stream.on('state', (s) => {
        if (s === 'live') done(resolve);
      }),
      stream.on('error', (err) => {
        if (err.status !== 0) done(() => reject(err));
      }),
    ];
    const timer = setTimeout(() => done(() => reject(new TendhostApiError(0, 'TIMEOUT', 'the event stream did not open within 30 s'))), 30_000);
    function done(fn: () => void) {
      clearTimeout(timer);
      for (const off of offs) off();
      fn();
    }
    stream.start();
  });
}

async function followJob(
  env: CliEnv,
  client: NodeTendhostClient,
  stream: FleetStream,
  id: string,
  json: boolean,
  attach: (feed: (e: StreamEvent) => void) => void,
): Promise<number> {
  const mine = (e: StreamEvent): boolean => {
    const jobId = (e as { job_id?: string }).job_id;
    if (jobId !== undefined) return jobId === id;
    // A status names its job inside; a job-start event names only a job's first 1,000 hosts.
    if (e.type === 'HostUpdated') return e.status.job_id === id;
    const host = (e as { host?: string }).host;
    return host !== undefined && (stream.model.jobs.get(id)?.hosts.includes(host) ?? false);
  };
  const view = !json && env.isTTY ? new ProgressView(env, stream.model, id) : null;
  attach((e) => {
    if (!mine(e)) return;
    if (view) view.event(e);
    // HostUpdated repeats what the HostStateChanged after it says.
    else if (!json && e.type !== 'HostUpdated') writeLine(env, `${clock(e.ts)} ${describeEvent(e)}`);
  });
  const offState = stream.on('state', (s) => {
    if (view) view.connection(s);
    else if (!json && s === 'reconnecting') env.stderr.write('tendhost: lost the event stream; reconnecting\n');
  });
  if (view) view.connection(stream.state);
  else if (!json) writeLine(env, `following job ${id} (Ctrl-C stops following; the job keeps running)`);

  const abort = new AbortController();
  const offInterrupt = env.onInterrupt(() => abort.abort());
  let job: Job;
  try {
    job = await stream.waitForJob(client, id, { signal: abort.signal });
  } catch (err) {
    view?.stop();
    if (err instanceof TendhostApiError && err.code === 'ABORTED' && abort.signal.aborted) {
      env.stderr.write(`tendhost: stopped following job ${id}; it keeps running. Cancel it with: tendhost cancel ${id}\n`);
      return INTERRUPTED;
    }
    throw err;
  } finally {
    offInterrupt();
    offState();
  }
  view?.stop();
  if (json) writeJson(env, job);
  else writeLine(env, await jobSummary(client, job, env.columns));
  return jobExitCode(job);
}
