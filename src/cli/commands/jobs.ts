// Jobs: list, one job (with its per-host results), cancel.
import { HOST_RESULT_STATES, JOB_STATES } from '../../../common/schemas/job.js';
import { CONNECTION_OPTIONS, JSON_OPTION, PAGING_OPTIONS, connect, oneOf, paging, parse } from '../args.js';
import type { Command } from '../command.js';
import { CLI_EXIT } from '../exit-codes.js';
import { dash, pageLine, table, writeJson, writeLine } from '../format.js';
import { hostResultTable, jobExitCode, jobHeadline } from '../job-results.js';

export const jobs: Command = {
  name: 'jobs',
  summary: 'list jobs, newest first',
  usage: '[--host NAME] [--state STATE] [--page N] [--per-page N] [--json]',
  async run(argv, env) {
    const opts = { ...CONNECTION_OPTIONS, ...JSON_OPTION, ...PAGING_OPTIONS, host: { type: 'string' }, state: { type: 'string' } } as const;
    const { values } = parse(argv, opts, { min: 0, max: 0, names: '' });
    const state = oneOf('state', values.state, JOB_STATES);
    const page = await connect(values, env).listJobs({ ...paging(values), host: values.host, state });
    if (values.json) {
      writeJson(env, page);
      return CLI_EXIT.OK;
    }
    const rows = page.data.map((j) => [
      j.id,
      `${j.kind}${j.dry_run ? ' (dry)' : ''}`,
      j.state,
      j.created_at.slice(0, 19).replace('T', ' '),
      `${j.summary.completed}/${j.summary.total}`,
      String(j.summary.failed),
      String(j.summary.unreachable),
      dash(j.error),
    ]);
    if (rows.length) writeLine(env, table(['ID', 'KIND', 'STATE', 'CREATED', 'DONE', 'FAILED', 'UNREACHABLE', 'ERROR'], rows, env.columns));
    writeLine(env, pageLine(page.pagination, 'jobs'));
    return CLI_EXIT.OK;
  },
};

export const job: Command = {
  name: 'job',
  summary: 'one job: its counts and per-host results (exit 1 if it failed)',
  usage: 'ID [--state RESULT] [--page N] [--per-page N] [--json]',
  help: `  --state RESULT   only hosts whose result is one of ${HOST_RESULT_STATES.join(', ')}`,
  async run(argv, env) {
    const opts = { ...CONNECTION_OPTIONS, ...JSON_OPTION, ...PAGING_OPTIONS, state: { type: 'string' } } as const;
    const { values, positionals } = parse(argv, opts, { min: 1, max: 1, names: 'the job ID' });
    const state = oneOf('state', values.state, HOST_RESULT_STATES);
    const client = connect(values, env);
    const j = await client.getJob(positionals[0]);
    const hosts = await client.jobHosts(j.id, { ...paging(values), state });
    if (values.json) writeJson(env, { ...j, hosts });
    else {
      writeLine(env, jobHeadline(j));
      if (hosts.data.length) writeLine(env, hostResultTable(hosts.data, env.columns));
      writeLine(env, pageLine(hosts.pagination, 'hosts'));
    }
    // A job still running has not failed (yet).
    return j.finished_at === null ? CLI_EXIT.OK : jobExitCode(j);
  },
};

export const cancel: Command = {
  name: 'cancel',
  summary: 'cancel a job (running host operations finish; nothing new starts)',
  usage: 'ID [--json]',
  async run(argv, env) {
    const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, ...JSON_OPTION }, { min: 1, max: 1, names: 'the job ID' });
    const j = await connect(values, env).cancelJob(positionals[0]);
    if (values.json) writeJson(env, j);
    else writeLine(env, jobHeadline(j));
    return CLI_EXIT.OK;
  },
};
