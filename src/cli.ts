#!/usr/bin/env node
// The `tendhost` command line. `tendhost hash-token [--name NAME] [TOKEN]`
// prints the [daemon.auth] tokens entry for a token (read from stdin when not
// given, so it stays out of shell history); with no command, starts the daemon.
import { readFileSync } from 'node:fs';
import { hashToken } from './http/auth.js';

const USAGE = `usage: tendhost hash-token [--name NAME] [TOKEN]   (TOKEN from stdin when omitted)
       tendhost                                       (start the daemon)`;

function fail(msg: string): never {
  process.stderr.write(`tendhost: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function hashTokenCommand(args: string[]): void {
  let name = 'api';
  let token: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--name') {
      if (i + 1 >= args.length) fail('--name needs a value');
      name = args[++i];
    } else if (a.startsWith('--name=')) name = a.slice('--name='.length);
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return;
    } else if (token === undefined) token = a;
    else fail(`unexpected argument "${a}"`);
  }
  token ??= readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (!token) fail('the token is empty');
  if (/\s/.test(token)) fail('a bearer token cannot contain whitespace');
  if (!name) fail('the name is empty');
  process.stdout.write(`{ name = ${JSON.stringify(name)}, token_hash = "${hashToken(token)}" }\n`);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'hash-token') hashTokenCommand(rest);
else if (command === undefined) await import('./main.js');
else if (command === '-h' || command === '--help') process.stdout.write(`${USAGE}\n`);
else fail(`unknown command "${command}"`);
