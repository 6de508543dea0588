// The `tendhost` command: find the subcommand, run it, and turn every failure
// into one line on stderr and an exit code (src/cli/exit-codes.ts) — never a
// stack trace for bad input or a daemon's refusal.
import { TendhostApiError } from '../client/errors.js';
import { CONNECTION_USAGE } from './args.js';
import { COMMANDS, findCommand } from './command-table.js';
import type { Command } from './command.js';
import { processEnv, type CliEnv } from './env.js';
import { CLI_EXIT } from './exit-codes.js';
import { UsageError } from './usage-error.js';

const DAEMON_FLAGS = '--url/TENDHOST_URL, --token/TENDHOST_TOKEN, --ca/TENDHOST_CA, --timeout';

export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: tendhost COMMAND [ARGS] [--help]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Commands that talk to the daemon take ${DAEMON_FLAGS} (default http://127.0.0.1:8080).`,
    'Exit codes: 0 ok, 1 operation or job failed, 2 usage error, 3 cannot reach or authenticate to the daemon, 4 not found.',
  ].join('\n');
}

function usageLine(c: Command): string {
  const talks = c.name !== 'hash-token' && c.name !== 'daemon';
  return `usage: tendhost ${c.name}${c.usage ? ` ${c.usage}` : ''}${talks ? ` ${CONNECTION_USAGE}` : ''}`;
}

/** Before a `--`, is help asked for? */
function wantsHelp(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export function exitCodeOf(err: TendhostApiError): number {
  if (err.isConnection) return CLI_EXIT.UNREACHABLE;
  if (err.status === 404) return CLI_EXIT.NOT_FOUND;
  if (err.status === 400) return CLI_EXIT.USAGE;
  return CLI_EXIT.FAILED;
}

export async function runCli(argv: string[], env: CliEnv): Promise<number> {
  if (argv.length === 0) {
    env.stderr.write(`${overview()}\n`);
    return CLI_EXIT.USAGE;
  }
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    env.stdout.write(`${overview()}\n`);
    return CLI_EXIT.OK;
  }
  const found = findCommand(argv);
  if (!found) {
    env.stderr.write(`tendhost: unknown command "${argv[0]}"\n${overview()}\n`);
    return CLI_EXIT.USAGE;
  }
  const { command, rest } = found;
  if (wantsHelp(rest)) {
    env.stdout.write(`${usageLine(command)}\n${command.summary}\n${command.help ? `${command.help}\n` : ''}`);
    return CLI_EXIT.OK;
  }
  try {
    return await command.run(rest, env);
  } catch (err) {
    if (err instanceof UsageError) {
      env.stderr.write(`tendhost ${command.name}: ${err.message}\n${usageLine(command)}\n`);
      return CLI_EXIT.USAGE;
    }
    if (err instanceof TendhostApiError) {
      const rid = err.requestId ? ` (request ${err.requestId})` : '';
      env.stderr.write(`tendhost ${command.name}: ${err.code}: ${err.message}${rid}\n`);
      const code = exitCodeOf(err);
      // A value the daemon refused, or a name it does not know: show how the command is used.
      if (code === CLI_EXIT.USAGE || code === CLI_EXIT.NOT_FOUND) env.stderr.write(`${usageLine(command)}\n`);
      return code;
    }
    throw err;
  }
}

