// `tendhost top` on a terminal: the stream client keeps the model, TopView
// turns it into frames, Screen writes only changed lines, RedrawScheduler
// batches them (≤ ~10/s), keys come from stdin in raw mode (session.ts runs
// it). No polling: the only REST reads are the running jobs once per
// (re)connection, and the actions the operator confirms.
import { nodeClient } from '../../client/node.js';
import type { StreamFilter } from '../../client/types.js';
import { parseTopArgs, TOP_USAGE } from './args.js';
import { RedrawScheduler } from './redraw.js';
import { Screen } from './screen.js';
import { TopView } from './top-view.js';
import { EXIT, TopSession } from './session.js';

export interface TopEnv {
  url: string;
  token?: string;
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WritableStream;
}

export async function runTop(argv: string[], env: TopEnv): Promise<number> {
  let args;
  try {
    args = parseTopArgs(argv);
  } catch (err) {
    env.stderr.write(`tendhost top: ${(err as Error).message}\n${TOP_USAGE}\n`);
    return EXIT.USAGE;
  }
  if (args.help) {
    env.stdout.write(`${TOP_USAGE}\n`);
    return EXIT.OK;
  }
  if (!env.stdout.isTTY) {
    env.stderr.write('tendhost top: needs a terminal (stdout is not a TTY); `tendhost events` prints the stream as lines\n');
    return EXIT.USAGE;
  }
  const url = args.url ?? env.url;
  const client = nodeClient({ url, token: args.token ?? env.token });
  const filter: StreamFilter = { tags: args.tags, groups: args.groups };
  const stream = client.stream({ filter });
  const top = new TopView(stream.model, url);
  const screen = new Screen(env.stdout);
  const size = () => ({ width: env.stdout.columns || 80, height: env.stdout.rows || 24 });
  const draw = () => screen.draw(top.frame({ ...size(), stream: stream.state, ready: stream.ready, color: args.color }));
  const redraw = new RedrawScheduler(draw);
  return new TopSession({ client, stream, top, screen, redraw, stdin: env.stdin, stdout: env.stdout, stderr: env.stderr, size }).run();
}
