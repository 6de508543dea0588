// One running `tendhost top` on its terminal, apart from parsing its
// arguments (app.ts): wires the event stream, the keyboard, resizes and
// signals to the view, and leaves the terminal as it found it however the
// session ends (q, the end of stdin, a signal, a refused token).
import type { TendhostClient } from '../../client/http-client.js';
import type { TendhostApiError } from '../../client/errors.js';
import type { FleetStream, StreamState } from '../../client/fleet-stream.js';
import { runAction } from './actions.js';
import { decodeKeys } from './keys.js';
import type { RedrawScheduler } from './redraw.js';
import type { Screen } from './screen.js';
import type { TopView } from './top-view.js';

/** Exit codes as the CLI documents them. */
export const EXIT = { OK: 0, USAGE: 2, UNREACHABLE: 3 } as const;

export interface TopParts {
  client: TendhostClient;
  stream: FleetStream;
  top: TopView;
  screen: Screen;
  redraw: RedrawScheduler;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WritableStream;
  size: () => { width: number; height: number };
}

export class TopSession {
  readonly #p: TopParts;
  #fatal: TendhostApiError | null = null;
  #lostAt: number | null = null;
  #wasLive = false;
  readonly #offs: Array<() => void> = [];
  #finished = false;
  #resolve: (code: number) => void = () => {};

  constructor(parts: TopParts) {
    this.#p = parts;
  }

  /** Runs until the operator quits; resolves with the exit code. */
  run(): Promise<number> {
    const { stdin, screen, redraw, stream } = this.#p;
    return new Promise<number>((resolve) => {
      this.#resolve = resolve;
      this.#listenToStream();
      this.#listenToTerminal();
      // The clock in the title moves once a second; nothing is read from the daemon for it.
      const tick = setInterval(() => redraw.request(), 1000);
      this.#offs.push(() => clearInterval(tick));

      if (stdin.isTTY) stdin.setRawMode(true);
      // Decoded as a stream: a character split across two reads stays one character.
      stdin.setEncoding('utf8');
      stdin.resume();
      screen.enter();
      redraw.now();
      stream.start();
    });
  }

  #finish(code: number): void {
    if (this.#finished) return; // q, then the end of stdin, or a signal: once
    this.#finished = true;
    const { redraw, stream, screen, stdin, stderr } = this.#p;
    for (const off of this.#offs) off();
    redraw.close();
    stream.close();
    screen.leave();
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    if (this.#fatal) stderr.write(`tendhost top: ${this.#fatal.code}: ${this.#fatal.message}\n`);
    this.#resolve(code);
  }

  #listenToStream(): void {
    const { stream, top, redraw } = this.#p;
    this.#offs.push(
      stream.on('events', (batch) => {
        top.onEvents(batch);
        redraw.request();
      }),
      stream.on('snapshot', () => redraw.request()),
      stream.on('state', (s) => this.#onState(s)),
      stream.on('error', (err) => {
        // Refused token or request: the stream stops for good; anything else it retries.
        if (err.code === 'UNAUTHORIZED' || err.code === 'VALIDATION_FAILED') this.#fatal = err;
        else top.tail.note(`${err.code}: ${err.message}`);
        redraw.request();
      }),
    );
  }

  #onState(s: StreamState): void {
    const { top, redraw } = this.#p;
    if (s === 'live') {
      if (this.#lostAt !== null) top.tail.note(`reconnected after ${((Date.now() - this.#lostAt) / 1000).toFixed(1)} s`);
      this.#lostAt = null;
      this.#refreshJobs();
    }
    if (s === 'reconnecting' && this.#wasLive) {
      this.#lostAt = Date.now();
      top.tail.note('connection to the daemon lost: reconnecting…');
    }
    this.#wasLive = s === 'live';
    if (s === 'closed' && this.#fatal) return this.#finish(EXIT.UNREACHABLE);
    redraw.request();
  }

  /** The running jobs, read once per (re)connection: the stream tells what changes after. */
  #refreshJobs(): void {
    const { client, top, redraw } = this.#p;
    client.listJobs({ state: 'running', per_page: 50 }).then(
      (r) => {
        top.setKnownJobs(r.data);
        redraw.request();
      },
      (err: TendhostApiError) => top.tail.note(`reading running jobs: ${err.code}: ${err.message}`),
    );
  }

  #listenToTerminal(): void {
    const { stdin, stdout, screen, redraw } = this.#p;
    const onData = (chunk: string | Buffer) => this.#onKeys(String(chunk));
    const onResize = () => {
      screen.invalidate();
      redraw.now();
    };
    const onEnd = () => this.#finish(EXIT.OK);
    const onSignal = () => this.#finish(EXIT.OK);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdout.on('resize', onResize);
    // Leave the terminal as we found it however we are stopped (SIGINT: stdin not in raw mode).
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    this.#offs.push(
      () => stdin.off('data', onData),
      () => stdin.off('end', onEnd),
      () => stdout.off('resize', onResize),
      () => process.off('SIGINT', onSignal),
      () => process.off('SIGTERM', onSignal),
      () => process.off('SIGHUP', onSignal),
    );
  }

  #onKeys(text: string): void {
    const { client, top, screen, redraw, size } = this.#p;
    for (const key of decodeKeys(text)) {
      const effect = top.key(key, size().height);
      if (!effect) continue;
      if (effect.kind === 'quit') return this.#finish(EXIT.OK);
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
  }
}
