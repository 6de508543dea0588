// Runs a host's commands as child processes of the daemon: the executor of the
// shipped `localhost` host. Same contract as the SSH executor: a timeout kills
// the whole process group, output past the cap is cut and flagged.
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { DEFAULT_MAX_OUTPUT_BYTES, type ExecOptions, type ExecResult, type Executor } from './types.js';
import { TendhostError } from '../../common/errors.js';

const SUDO_FAILURE = /sudo: (a password is required|a terminal is required)/;

export class LocalExecutor implements Executor {
  #closed = false;
  readonly #isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

  async run(command: string, opts: ExecOptions): Promise<ExecResult> {
    if (this.#closed) throw new TendhostError('SSH_DISCONNECTED', 'executor is closed');
    const line = opts.root && !this.#isRoot ? `sudo -n ${command}` : command;
    const result = await runChild(line, opts);
    if (opts.root && !this.#isRoot && result.exitCode !== 0 && SUDO_FAILURE.test(result.stderr)) {
      throw new TendhostError('SUDO_PASSWORD_REQUIRED', `sudo needs a password for the daemon's user on localhost`);
    }
    return result;
  }

  disconnect(): void {
    // Nothing is held open between commands.
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

/** Decodes a stream's chunks as UTF-8 for a callback (a character split across chunks stays whole). */
function streamer(fn: ((chunk: string) => void) | undefined): { (chunk: Buffer): void; end(): void } | null {
  if (!fn) return null;
  const decoder = new StringDecoder('utf8');
  const push = (chunk: Buffer) => {
    const text = decoder.write(chunk);
    if (text) fn(text);
  };
  return Object.assign(push, {
    end: () => {
      const tail = decoder.end();
      if (tail) fn(tail);
    },
  });
}

function runChild(command: string, opts: ExecOptions): Promise<ExecResult> {
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true, // own process group, so a timeout kills the whole pipeline
      env: process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    let timedOut = false;

    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const take = (into: Buffer[]) => (chunk: Buffer) => {
      if (truncated) return;
      if (kept + chunk.length > max) {
        into.push(chunk.subarray(0, max - kept));
        kept = max;
        truncated = true;
        killGroup();
        return;
      }
      kept += chunk.length;
      into.push(chunk);
      const on = into === out ? outText : errText;
      if (on) on(chunk);
    };
    const outText = streamer(opts.onStdout);
    const errText = streamer(opts.onStderr);
    child.stdout!.on('data', take(out));
    child.stderr!.on('data', take(err));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // a command that exits without reading its stdin is not an error
      child.stdin.end(opts.input);
    }

    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    if (opts.signal?.aborted) killGroup();
    else opts.signal?.addEventListener('abort', killGroup, { once: true });

    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new TendhostError('PKG_COMMAND_FAILED', `cannot start command: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      outText?.end();
      errText?.end();
      resolve({
        exitCode: code,
        signal: signal ?? null,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - started,
        truncated,
        timedOut,
      });
    });
  });
}
