// `tendhost top` on a terminal: the stream client keeps the model, TopView
// turns it into frames, Screen writes only changed lines, RedrawScheduler
// batches them (≤ ~10/s), keys come from stdin in raw mode. No polling: the
// only REST reads are the running jobs once per (re)connection, and the
// actions the operator confirms.
import { nodeClient } from '../../client/node.js';
import type { TendhostApiError } from '../../client/errors.js';
import type { StreamFilter } from '../../client/types.js';
import { parseTopArgs, TOP_USAGE } from './args.js';
import { runAction } from './actions.js';
import { decodeKeys } from './keys.js';
import { RedrawScheduler } from './redraw.js';
import { Screen } from './screen.js';
import { TopView } from './top-view.js';

export interface TopEnv {
  url: string;
  token?: string;
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WritableStream;
}

/** Exit codes as the CLI documents them. */
const EXIT = { OK: 0, USAGE: 2, UNREACHABLE: 3 } as const;

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

  return new Promise<number>((resolve) => {
    let fatal: TendhostApiError | null = null;
    let lostAt: number | null = null;
    let wasLive = false;
    const offs: Array<() => void> = [];
    let finished = false;
    const finish = (code: number) => {
      if (finished) return; // q, then the end of stdin, or a signal: once
      finished = true;
      for (const off of offs) off();
      redraw.close();
      stream.close();
      screen.leave();
      if (env.stdin.isTTY) env.stdin.setRawMode(false);
      env.stdin.pause();
      if (fatal) env.stderr.write(`tendhost top: ${fatal.code}: ${fatal.message}\n`);
      resolve(code);
    };

    offs.push(
      stream.on('events', (batch) => {
        top.onEvents(batch);
        redraw.request();
      }),
      stream.on('snapshot', () => redraw.request()),
      stream.on('state', (s) => {
        if (s === 'live') {
          if (lostAt !== null) top.tail.note(`reconnected after ${((Date.now() - lostAt) / 1000).toFixed(1)} s`);
          lostAt = null;
          refreshJobs();
        }
        if (s === 'reconnecting' && wasLive) {
          lostAt = Date.now();
          top.tail.note('connection to the daemon lost: reconnecting…');
        }
        wasLive = s === 'live';
        if (s === 'closed' && fatal) return finish(EXIT.UNREACHABLE);
        redraw.request();
      }),
      stream.on('error', (err) => {
        // Refused token or request: the stream stops for good; anything else it retries.
        if (err.code === 'UNAUTHORIZED' || err.code === 'VALIDATION_FAILED') fatal = err;
        else top.tail.note(`${err.code}: ${err.message}`);
        redraw.request();
      }),
    );

    const refreshJobs = () => {
      client.listJobs({ state: 'running', per_page: 50 }).then(
        (r) => {
          top.setKnownJobs(r.data);
          redraw.request();
        },
        (err: TendhostApiError) => top.tail.note(`reading running jobs: ${err.code}: ${err.message}`),
      );
    };

    const onData = (chunk: string | Buffer) => {
      for (const key of decodeKeys(String(chunk))) {
        const effect = top.key(key, size().height);
        if (!effect) continue;
        if (effect.kind === 'quit') return finish(EXIT.OK);
        if (effect.kind === 'redraw-all') screen.invalidate();
        if (effect.kind === 'act') {
          void runAction(client, effect.action, effect.host).then((text) => {
            top.say(text);
            top.tail.note(text);
            redraw.now();
          });
        }
      }
      redraw.now();
    };
    const onResize = () => {
      screen.invalidate();
      redraw.now();
    };
    const onEnd = () => finish(EXIT.OK);
    const onSignal = () => finish(EXIT.OK);
    env.stdin.on('data', onData);
    env.stdin.on('end', onEnd);
    env.stdout.on('resize', onResize);
    // Leave the terminal as we found it however we are stopped (SIGINT: stdin not in raw mode).
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    offs.push(
      () => env.stdin.off('data', onData),
      () => env.stdin.off('end', onEnd),
      () => env.stdout.off('resize', onResize),
      () => process.off('SIGINT', onSignal),
      () => process.off('SIGTERM', onSignal),
      () => process.off('SIGHUP', onSignal),
    );
    // The clock in the title moves once a second; nothing is read from the daemon for it.
    const tick = setInterval(() => redraw.request(), 1000);
    offs.push(() => clearInterval(tick));

    if (env.stdin.isTTY) env.stdin.setRawMode(true);
    // Decoded as a stream: a character split across two reads stays one character.
    env.stdin.setEncoding('utf8');
    env.stdin.resume();
    screen.enter();
    redraw.now();
    stream.start();
  });
}
