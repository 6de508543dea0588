// Actions on named hosts: update (one job per host), reboot, retry, ack;
// each answers a job id, and --follow watches the job to its end.
import { CONNECTION_OPTIONS, JSON_OPTION, connect, parse } from '../args.js';
import type { Command } from '../command.js';
import { runAction, runActions } from '../follow.js';
import type { NodeTendhostClient } from '../../client/node.js';
import type { JobAccepted } from '../../client/types.js';

const FOLLOW_HELP = '  --follow   watch the job to its end (live progress on a terminal, one line per event otherwise)';

function single(name: string, summary: string, act: (c: NodeTendhostClient, host: string) => Promise<JobAccepted>, follow: boolean): Command {
  return {
    name,
    summary,
    usage: `NAME${follow ? ' [--follow]' : ''} [--json]`,
    help: follow ? FOLLOW_HELP : undefined,
    async run(argv, env) {
      const opts = follow ? { ...CONNECTION_OPTIONS, ...JSON_OPTION, follow: { type: 'boolean' } } as const : { ...CONNECTION_OPTIONS, ...JSON_OPTION };
      const { values, positionals } = parse(argv, opts, { min: 1, max: 1, names: 'the host NAME' });
      const client = connect(values, env);
      return runAction(env, client, () => act(client, positionals[0]), { follow: !!(values as { follow?: boolean }).follow, json: !!values.json });
    },
  };
}

export const reboot = single('reboot', 'reboot a host (and verify it came back)', (c, h) => c.reboot(h), true);
export const retry = single('retry', 'retry a failed host’s operation', (c, h) => c.retry(h), false);
export const ack = single('ack', 'acknowledge a failed host (back to idle without retrying)', (c, h) => c.acknowledge(h), false);

export const update: Command = {
  name: 'update',
  summary: 'update one or more hosts (one job each)',
  usage: 'NAME… [--dry-run] [--follow] [--json]',
  help: `  --dry-run  report what would be upgraded, change nothing\n${FOLLOW_HELP}`,
  async run(argv, env) {
    const opts = { ...CONNECTION_OPTIONS, ...JSON_OPTION, 'dry-run': { type: 'boolean' }, follow: { type: 'boolean' } } as const;
    const { values, positionals } = parse(argv, opts, { min: 1, max: 10_000, names: 'at least one host NAME' });
    const client = connect(values, env);
    const dry = { dry_run: values['dry-run'] === true };
    return runActions(env, client, positionals.map((h) => () => client.update(h, dry)), { follow: !!values.follow, json: !!values.json });
  },
};
