// Runs one command on an open ssh2 connection as an exec channel, with the
// same contract as the local executor: a timeout and an output cap both stop
// the command (signal KILL, then close the channel) and are reported in the
// result, never as errors. Closing only the channel keeps the connection,
// so the host's next command reuses it.
import type { Client as SshClient, ClientChannel } from 'ssh2';
import { TendhostError } from '../../common/errors.js';
import type { ExecOptions, ExecResult } from './types.js';
import { CappedOutput } from './output-cap.js';

/**
 * How long a stopped command may take to report its end. OpenSSH delays a
 * channel's close until its process exits, and it refuses the KILL signal for
 * root logins ("session signalling requires privilege separation": root has
 * no privsep child), so a timed-out `sleep 600` as root keeps running
 * remotely. We do not wait for it: the result is returned after this grace and
 * the late close is absorbed by ssh2. (If such leftovers fill sshd's
 * MaxSessions, opening the next channel fails and the manager reconnects.)
 */
const CLOSE_GRACE_MS = 250;

export interface ChannelRun {
  result: Promise<ExecResult>;
  /** Fail the run now (the connection dropped under it). */
  fail(err: TendhostError): void;
}

/** Thrown (as details.channel_not_opened) when no channel could be opened: nothing ran, a retry is safe. */
export const CHANNEL_NOT_OPENED = 'channel_not_opened';

export function execOnClient(client: SshClient, command: string, opts: ExecOptions, where: string): ChannelRun {
  const run = new ChannelExec(opts);
  client.exec(command, (e, ch) => {
    if (e) run.fail(new TendhostError('SSH_DISCONNECTED', `${where}: cannot open a session channel: ${e.message}`, { [CHANNEL_NOT_OPENED]: true }));
    else run.opened(ch);
  });
  return { result: run.result, fail: (e) => run.fail(e) };
}

/** One command's run on its channel: output, exit status, timeout, abort and the close grace. */
class ChannelExec {
  readonly result: Promise<ExecResult>;
  readonly #opts: ExecOptions;
  readonly #started = performance.now();
  readonly #output: CappedOutput;
  readonly #timer: NodeJS.Timeout;
  #resolve!: (r: ExecResult) => void;
  #reject!: (e: TendhostError) => void;
  #timedOut = false;
  #exitCode: number | null = null;
  #signal: string | null = null;
  #channel: ClientChannel | null = null;
  #settled = false;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(opts: ExecOptions) {
    this.#opts = opts;
    this.result = new Promise<ExecResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#output = new CappedOutput(opts, () => this.#stop());
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#stop();
    }, opts.timeoutMs);
    if (opts.signal?.aborted) this.#stop();
    else opts.signal?.addEventListener('abort', () => this.#stop(), { once: true });
  }

  opened(ch: ClientChannel): void {
    this.#channel = ch;
    ch.on('data', this.#output.stdout);
    ch.stderr.on('data', this.#output.stderr);
    ch.on('exit', (code: number | null, sig?: string) => {
      if (typeof code === 'number') this.#exitCode = code;
      else if (sig) this.#signal = sig.startsWith('SIG') ? sig : `SIG${sig}`;
    });
    ch.on('close', () => this.#done());
    // Without input, stdin stays open as before (some tools wait on a closed one differently).
    if (this.#opts.input !== undefined) ch.end(this.#opts.input);
    if (this.#settled) ch.close(); // the run was failed while the channel was opening
    else if (this.#graceTimer) this.#stop();
  }

  /** Fail the run now (no channel, or the connection dropped under it). */
  fail(e: TendhostError): void {
    if (this.#settled) return;
    this.#settle();
    this.#output.end();
    this.#reject(e);
  }

  #done(): void {
    if (this.#settled) return;
    this.#settle();
    const { stdout, stderr } = this.#output.finish();
    this.#resolve({
      exitCode: this.#exitCode,
      signal: this.#signal,
      stdout,
      stderr,
      durationMs: performance.now() - this.#started,
      truncated: this.#output.truncated,
      timedOut: this.#timedOut,
    });
  }

  #settle(): void {
    this.#settled = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#graceTimer);
  }

  // KILL reaches the remote process when sshd honours the "signal" request
  // (OpenSSH >= 7.9, non-root logins); closing the channel is the fallback,
  // and what ends our side. If the server does not confirm, resolve anyway.
  #stop(): void {
    this.#graceTimer ??= setTimeout(() => this.#done(), CLOSE_GRACE_MS);
    if (!this.#channel) return; // not open yet: closed as soon as it opens
    try {
      this.#channel.signal('KILL');
    } catch {
      // channel already closing
    }
    this.#channel.close();
  }
}
