// Every subcommand, in the order `tendhost --help` lists them.
import type { Command } from './command.js';
import { health, hosts, host, inventory } from './commands/reads.js';
import { hostsAdd, hostsRemove, hostKeyAccept } from './commands/host-admin.js';
import { update, reboot, retry, ack } from './commands/host-actions.js';
import { fleetUpdate } from './commands/fleet.js';
import { jobs, job, cancel } from './commands/jobs.js';
import { events } from './commands/events.js';
import { hashTokenCommand, daemon } from './commands/local.js';

export const COMMANDS: readonly Command[] = [
  health,
  hosts,
  hostsAdd,
  hostsRemove,
  host,
  inventory,
  update,
  reboot,
  retry,
  ack,
  hostKeyAccept,
  fleetUpdate,
  jobs,
  job,
  cancel,
  events,
  hashTokenCommand,
  daemon,
];

/** The command `argv` names (two-word names first) and the arguments after it. */
export function findCommand(argv: string[]): { command: Command; rest: string[] } | null {
  const two = argv.length >= 2 ? `${argv[0]} ${argv[1]}` : '';
  for (const c of COMMANDS) if (c.name === two) return { command: c, rest: argv.slice(2) };
  for (const c of COMMANDS) if (c.name === argv[0]) return { command: c, rest: argv.slice(1) };
  return null;
}
