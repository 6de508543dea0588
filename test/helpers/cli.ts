// Runs the built `tendhost` program (dist/src/cli/main.js) as a child
// process, asynchronously (the simulator shares this test's event loop).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../harness/daemon.js';

export const CLI_MAIN = join(ROOT, 'dist/src/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  proc: ChildProcess;
  /** Everything written so far. */
  out(): string;
  err(): string;
  done: Promise<CliResult>;
}

export function startCli(args: string[], env: Record<string, string> = {}): CliRun {
  const proc = spawn(process.execPath, [CLI_MAIN, ...args], {
    env: { ...process.env, TENDHOST_URL: '', TENDHOST_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (d) => (stdout += d));
  proc.stderr?.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => proc.on('close', (code) => resolve({ code, stdout, stderr })));
  return { proc, out: () => stdout, err: () => stderr, done };
}

export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** The same command in this process (no daemon needed: --help, usage errors), with captured output. */
export async function cliInProcess(args: string[], o: { isTTY?: boolean; columns?: number } = {}): Promise<CliResult> {
  const { runCli } = await import('../../src/cli/run.js');
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d) => (stdout += d));
  err.on('data', (d) => (stderr += d));
  const code = await runCli(args, {
    url: undefined,
    token: undefined,
    caFile: undefined,
    stdout: out,
    stderr: err,
    stdin: new PassThrough(),
    isTTY: o.isTTY ?? false,
    columns: o.columns ?? 120,
    onInterrupt: () => () => {},
  });
  return { code, stdout, stderr };
}
