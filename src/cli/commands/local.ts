// Commands that need no daemon: hash-token, and starting the daemon itself.
import { readFileSync } from 'node:fs';
import { hashToken } from '../../http/auth.js';
import { parse } from '../args.js';
import type { Command } from '../command.js';
import { CLI_EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const hashTokenCommand: Command = {
  name: 'hash-token',
  summary: 'print the [daemon.auth] tokens entry for a token',
  usage: '[--name NAME] [TOKEN]',
  help: '  TOKEN is read from stdin when omitted, so it stays out of shell history',
  async run(argv, env) {
    const { values, positionals } = parse(argv, { name: { type: 'string' } }, { min: 0, max: 1, names: '' });
    const name = values.name ?? 'api';
    const token = positionals[0] ?? readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    if (!token) throw new UsageError('the token is empty');
    if (/\s/.test(token)) throw new UsageError('a bearer token cannot contain whitespace');
    if (!name) throw new UsageError('the name is empty');
    env.stdout.write(`{ name = ${JSON.stringify(name)}, token_hash = "${hashToken(token)}" }\n`);
    return CLI_EXIT.OK;
  },
};

/** Never resolves: the daemon owns the process from here and exits with its own codes. */
export const daemon: Command = {
  name: 'daemon',
  summary: 'start the daemon (config from $TENDHOST_CONFIG, ./tendhost.toml or /etc/tendhost/tendhost.toml)',
  usage: '',
  async run(argv) {
    parse(argv, {}, { min: 0, max: 0, names: '' });
    await import('../../main.js');
    return new Promise<number>(() => {});
  },
};
