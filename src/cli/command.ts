// One subcommand: its name (one or two words), a one-line summary, the usage
// line that --help and usage errors print, and what it does.
import type { CliEnv } from './env.js';

export interface Command {
  name: string;
  summary: string;
  /** Everything after `tendhost NAME`. */
  usage: string;
  /** More lines for --help (flag meanings), optional. */
  help?: string;
  run(argv: string[], env: CliEnv): Promise<number>;
}
