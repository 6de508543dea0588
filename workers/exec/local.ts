// Runs a host's commands as child processes of the daemon: the executor of the
// shipped `localhost` host. Same contract as the SSH executor: a timeout kills
// the whole process group, output past the cap is cut and flagged.
import { spawn } from 'node:child_process';
import { type ExecOptions, type ExecResult, type Executor } from './types.js';
import { TendhostError } from '../../common/errors.js';
import { CappedOutput } from './output-cap.js';

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

function runChild(command: string, opts: ExecOptions): Promise<ExecResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true, // own process group, so a timeout kills the whole pipeline
      env: process.env,
    });
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const output = new CappedOutput(opts, killGroup);
    child.stdout!.on('data', output.stdout);
    child.stderr!.on('data', output.stderr);
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
      const { stdout, stderr } = output.finish();
      resolve({
        exitCode: code,
        signal: signal ?? null,
        stdout,
        stderr,
        durationMs: performance.now() - started,
        truncated: output.truncated,
        timedOut,
      });
    });
  });
}
