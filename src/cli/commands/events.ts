// events: tail the event stream (filters, --since), one line or one JSON
// object per event, until Ctrl-C or --limit events. Reconnects by itself
// and resumes where it was; says so on stderr.
import { EVENT_TYPES } from '../../../common/schemas/stream.js';
import type { TendhostApiError } from '../../client/errors.js';
import type { StreamEventType, StreamFilter } from '../../client/types.js';
import { CONNECTION_OPTIONS, JSON_OPTION, intFlag, connect, parse } from '../args.js';
import type { Command } from '../command.js';
import { CLI_EXIT } from '../exit-codes.js';
import { clock, describeEvent } from '../event-lines.js';
import { UsageError } from '../usage-error.js';

export const events: Command = {
  name: 'events',
  summary: 'tail the event stream',
  usage: '[--host NAME]… [--tag TAG]… [--group GROUP]… [--type TYPE]… [--since SEQ] [--limit N] [--json]',
  help: [
    '  --tag TAG    events of hosts that have all these tags; --host, --group, --type: any of',
    '  --since SEQ  start after this event seq (from the replay buffer; if it no longer reaches back, a note and live events)',
    '  --limit N    stop after N events',
    '  --json       one JSON object per line, as the daemon sent it',
    `  types: ${EVENT_TYPES.join(', ')}`,
  ].join('\n'),
  async run(argv, env) {
    const opts = {
      ...CONNECTION_OPTIONS,
      ...JSON_OPTION,
      host: { type: 'string', multiple: true },
      tag: { type: 'string', multiple: true },
      group: { type: 'string', multiple: true },
      type: { type: 'string', multiple: true },
      since: { type: 'string' },
      limit: { type: 'string' },
    } as const;
    const { values } = parse(argv, opts, { min: 0, max: 0, names: '' });
    for (const t of values.type ?? []) if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new UsageError(`--type must be one of ${EVENT_TYPES.join(', ')}, got "${t}"`);
    const since = intFlag('since', values.since, 0, Number.MAX_SAFE_INTEGER);
    const limit = intFlag('limit', values.limit, 1, Number.MAX_SAFE_INTEGER);
    const filter: StreamFilter = { hosts: values.host, tags: values.tag, groups: values.group, types: values.type as StreamEventType[] | undefined };
    const client = connect(values, env);
    await client.health(); // unreachable or refused: exit 3 now rather than retrying forever

    const stream = client.stream({ filter, since });
    const abort = new AbortController();
    const offInterrupt = env.onInterrupt(() => abort.abort());
    let fatal: TendhostApiError | null = null;
    const offs = [
      stream.on('error', (err) => {
        if (err.status !== 0) {
          fatal = err;
          abort.abort();
        }
      }),
      stream.on('state', (s) => {
        if (s === 'reconnecting') env.stderr.write('tendhost: event stream lost; reconnecting\n');
        if (s === 'resyncing') env.stderr.write('tendhost: the daemon no longer has the events asked for (replay buffer or restart): continuing from its current state\n');
      }),
      stream.on('snapshot', () => env.stderr.write(`tendhost: connected at seq ${stream.model.seq} (${stream.model.hosts.size} hosts)\n`)),
    ];
    const it = stream.events({ signal: abort.signal });
    stream.start();
    let n = 0;
    try {
      for await (const e of it) {
        env.stdout.write(values.json ? `${JSON.stringify(e)}\n` : `${clock(e.ts)} #${e.seq} ${describeEvent(e)}\n`);
        if (limit !== undefined && ++n >= limit) break;
      }
    } finally {
      offInterrupt();
      for (const off of offs) off();
      stream.close();
    }
    if (fatal) throw fatal;
    return CLI_EXIT.OK;
  },
};
