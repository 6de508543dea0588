// `tendhost top`'s arguments (node:util parseArgs) and usage text.
import { parseArgs } from 'node:util';

export const TOP_USAGE = `usage: tendhost top [--url URL] [--token TOKEN] [--tag TAG]... [--group GROUP]... [--no-color]

A live full-terminal view of the fleet, fed by the event stream (/ws/events).
  --url URL        the daemon (default $TENDHOST_URL, else http://127.0.0.1:8080)
  --token TOKEN    bearer token (default $TENDHOST_TOKEN)
  --tag TAG        only hosts with this tag (repeatable: all must match)
  --group GROUP    only hosts of this group (repeatable: any)
  --no-color       no colours (selection still shown in reverse video)
keys: j/k or arrows move, g/G first/last, PgUp/PgDn, / filter (Enter apply,
Esc cancel; Esc again clears it), u update, d dry-run update, b reboot,
r retry, a acknowledge (each asks y/n), Ctrl-L redraw, q quit`;

export interface TopArgs {
  help: boolean;
  url?: string;
  token?: string;
  tags: string[];
  groups: string[];
  color: boolean;
}

/** Throws an Error with a one-line message on a bad argument. */
export function parseTopArgs(argv: string[]): TopArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string' },
      token: { type: 'string' },
      tag: { type: 'string', multiple: true },
      group: { type: 'string', multiple: true },
      'no-color': { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (values.url !== undefined && !/^https?:\/\/[^\s/]+/.test(values.url)) throw new Error(`--url must be an http:// or https:// URL, not "${values.url}"`);
  for (const t of [...(values.tag ?? []), ...(values.group ?? [])]) if (!t.trim()) throw new Error('--tag and --group need a non-empty value');
  return {
    help: values.help ?? false,
    url: values.url,
    token: values.token,
    tags: values.tag ?? [],
    groups: values.group ?? [],
    color: !values['no-color'],
  };
}
