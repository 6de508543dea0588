// `tendhost top` (src/cli/top/), loaded only when asked for: the other
// commands do not pay for the terminal view's modules.
import { DEFAULT_URL } from '../args.js';
import type { Command } from '../command.js';

export const top: Command = {
  name: 'top',
  summary: 'a live full-terminal view of the fleet (tendhost top --help for its keys)',
  usage: '[--url URL] [--token TOKEN] [--tag TAG]… [--group GROUP]… [--no-color]',
  selfHelp: true,
  async run(argv, env) {
    const { runTop } = await import('../top/index.js');
    // top needs the real terminal streams (raw keys, size); processEnv hands those in.
    return runTop(argv, {
      url: env.url ?? DEFAULT_URL,
      token: env.token,
      stdout: env.stdout as NodeJS.WriteStream,
      stdin: env.stdin as NodeJS.ReadStream,
      stderr: env.stderr,
    });
  },
};
