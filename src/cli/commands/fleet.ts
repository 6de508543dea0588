// fleet update: a rollout over the fleet (or a filtered part), with every
// option the API has.
import type { FleetUpdateRequest } from '../../client/types.js';
import { CONNECTION_OPTIONS, JSON_OPTION, connect, intFlag, parse } from '../args.js';
import type { Command } from '../command.js';
import { runAction } from '../follow.js';
import { UsageError } from '../usage-error.js';

const THRESHOLD = /^(\d+|(100|[0-9]{1,2})(\.[0-9]+)?%)$/;

function threshold(name: string, v: string | undefined): number | string | undefined {
  if (v === undefined) return undefined;
  if (!THRESHOLD.test(v)) throw new UsageError(`--${name} must be a count or a percentage like 10%, got "${v}"`);
  return v.endsWith('%') ? v : Number(v);
}

export const fleetUpdate: Command = {
  name: 'fleet update',
  summary: 'roll updates out over the fleet in batches',
  usage:
    '[--batch-size N] [--delay SECONDS] [--canary N] [--max-failures N|P%] [--max-unreachable N|P%] [--wait-for-window] [--tag TAG]… [--group GROUP]… [--exclude NAME]… [--dry-run] [--follow] [--json]',
  help: [
    '  --batch-size N      hosts updated at once (daemon default 10)',
    '  --delay SECONDS     pause between batches',
    '  --canary N          update N hosts first, alone; all must succeed',
    '  --max-failures      stop the rollout past this many failed hosts (count or percentage)',
    '  --max-unreachable   stop the rollout past this many unreachable hosts',
    '  --wait-for-window   defer hosts outside their maintenance window instead of skipping them',
    '  --tag TAG           only hosts with all these tags; --group: in any of these groups; --exclude: not these hosts',
    '  --follow            watch the rollout to its end (live progress per batch on a terminal)',
  ].join('\n'),
  async run(argv, env) {
    const opts = {
      ...CONNECTION_OPTIONS,
      ...JSON_OPTION,
      'batch-size': { type: 'string' },
      delay: { type: 'string' },
      canary: { type: 'string' },
      'max-failures': { type: 'string' },
      'max-unreachable': { type: 'string' },
      'wait-for-window': { type: 'boolean' },
      tag: { type: 'string', multiple: true },
      group: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
      follow: { type: 'boolean' },
    } as const;
    const { values } = parse(argv, opts, { min: 0, max: 0, names: '' });
    const body: FleetUpdateRequest = {};
    const batch = intFlag('batch-size', values['batch-size'], 1, 100_000);
    if (batch !== undefined) body.batch_size = batch;
    if (values.delay !== undefined) {
      const s = Number(values.delay);
      if (!/^\d+(\.\d+)?$/.test(values.delay) || s > 86_400) throw new UsageError(`--delay must be seconds 0..86400, got "${values.delay}"`);
      body.delay_ms = Math.round(s * 1000);
    }
    const canary = intFlag('canary', values.canary, 0, 100_000);
    if (canary !== undefined) body.canary = canary;
    const mf = threshold('max-failures', values['max-failures']);
    if (mf !== undefined) body.max_failures = mf;
    const mu = threshold('max-unreachable', values['max-unreachable']);
    if (mu !== undefined) body.max_unreachable = mu;
    if (values['wait-for-window']) body.wait_for_window = true;
    if (values['dry-run']) body.dry_run = true;
    if (values.tag || values.group || values.exclude) {
      body.filter = {};
      if (values.tag) body.filter.tags = values.tag;
      if (values.group) body.filter.groups = values.group;
      if (values.exclude) body.filter.exclude_hosts = values.exclude;
    }
    const client = connect(values, env);
    return runAction(env, client, () => client.fleetUpdate(body), { follow: !!values.follow, json: !!values.json });
  },
};
