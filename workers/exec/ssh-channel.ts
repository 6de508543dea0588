// Runs one command on an open ssh2 connection as an exec channel, with the
// same contract as the local executor: a timeout and an output cap both stop
// the command (signal KILL, then close the channel) and are reported in the
// result, never as errors. Closing only the channel keeps the connection,
// so the host's next command reuses it.
import { StringDecoder } from 'node:string_decoder';
import type { Client as SshClient, ClientChannel } from 'ssh2';
import { TendhostError } from '../../common/errors.js';
import { DEFAULT_MAX_OUTPUT_BYTES, type ExecOptions, type ExecResult } from './types.js';

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
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const started = performance.now();
  let fail: (err: TendhostError) => void = () => {};

  const result = new Promise<ExecResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const decoder = opts.onStdout ? new StringDecoder('utf8') : null;
    const errDecoder = opts.onStderr ? new StringDecoder('utf8') : null;
    let kept = 0;
    let truncated = false;
    let timedOut = false;
    let exitCode: number | null = null;
    let signal: string | null = null;
    let channel: ClientChannel | null = null;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      const tail = decoder?.end();
      if (tail) opts.onStdout!(tail);
      const errTail = errDecoder?.end();
      if (errTail) opts.onStderr!(errTail);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - started,
        truncated,
        timedOut,
      });
    };
    fail = (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      reject(e);
    };
    // KILL reaches the remote process when sshd honours the "signal" request
    // (OpenSSH >= 7.9, non-root logins); closing the channel is the fallback,
    // and what ends our side. If the server does not confirm, resolve anyway.
    const stop = () => {
      graceTimer ??= setTimeout(done, CLOSE_GRACE_MS);
      if (!channel) return; // not open yet: closed as soon as it opens
      try {
        channel.signal('KILL');
      } catch {
        // channel already closing
      }
      channel.close();
    };
    const emit = (into: Buffer[], chunk: Buffer) => {
      if (into === out && decoder) opts.onStdout!(decoder.write(chunk));
      else if (into === err && errDecoder) opts.onStderr!(errDecoder.write(chunk));
    };
    const take = (into: Buffer[]) => (chunk: Buffer) => {
      if (truncated || settled) return; // keep draining so the close completes
      if (kept + chunk.length > max) {
        const part = chunk.subarray(0, max - kept);
        into.push(part);
        if (part.length > 0) emit(into, part);
        kept = max;
        truncated = true;
        stop();
        return;
      }
      kept += chunk.length;
      into.push(chunk);
      emit(into, chunk);
    };

    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    if (opts.signal?.aborted) stop();
    else opts.signal?.addEventListener('abort', stop, { once: true });

    client.exec(command, (e, ch) => {
      if (e) {
        fail(
          new TendhostError('SSH_DISCONNECTED', `${where}: cannot open a session channel: ${e.message}`, {
            [CHANNEL_NOT_OPENED]: true,
          }),
        );
        return;
      }
      channel = ch;
      ch.on('data', take(out));
      ch.stderr.on('data', take(err));
      ch.on('exit', (code: number | null, sig?: string) => {
        if (typeof code === 'number') exitCode = code;
        else if (sig) signal = sig.startsWith('SIG') ? sig : `SIG${sig}`;
      });
      ch.on('close', done);
      // Without input, stdin stays open as before (some tools wait on a closed one differently).
      if (opts.input !== undefined) ch.end(opts.input);
      if (settled) ch.close(); // the run was failed while the channel was opening
      else if (graceTimer) stop();
    });
  });
  return { result, fail: (e) => fail(e) };
}
