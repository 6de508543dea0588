// Executors for driver tests: one that replays captured outputs (streaming
// stdout in small chunks like a real channel), and the daemon's own local
// executor with a record of what it ran.
import { readFileSync } from 'node:fs';
import { TendhostError } from '../../common/errors.js';
import { LocalExecutor } from '../../workers/exec/local.js';
import type { ExecOptions, ExecResult, Executor } from '../../workers/exec/types.js';

export const FIXTURES = new URL('../fixtures/', import.meta.url);

export interface Capture {
  stdout: string;
  stderr: string;
  exit: number;
}

/** A captured command from test/fixtures (NAME.stdout/.stderr/.exit). */
export function fixture(name: string): Capture {
  const read = (ext: string) => readFileSync(new URL(`${name}.${ext}`, FIXTURES), 'utf8');
  return { stdout: read('stdout'), stderr: read('stderr'), exit: Number(read('exit').trim()) };
}

export function execResult(c: Partial<Capture> & { truncated?: boolean; timedOut?: boolean }): ExecResult {
  return {
    exitCode: c.exit ?? 0,
    signal: null,
    stdout: c.stdout ?? '',
    stderr: c.stderr ?? '',
    durationMs: 1,
    truncated: c.truncated ?? false,
    timedOut: c.timedOut ?? false,
  };
}

/** Answers known command strings with captures; anything else is a test failure. */
export function replayExecutor(answers: Record<string, ExecResult>, chunkSize = 7) {
  const calls: { command: string; opts: ExecOptions }[] = [];
  const exec: Executor = {
    async run(command, opts) {
      calls.push({ command, opts });
      const r = answers[command];
      if (!r) throw new Error(`unexpected command: ${command}`);
      for (let i = 0; i < r.stdout.length; i += chunkSize) opts.onStdout?.(r.stdout.slice(i, i + chunkSize));
      return r;
    },
    disconnect() {},
    async close() {},
  };
  return { exec, calls };
}

/** The daemon's LocalExecutor (read-only commands only, in tests), recording each command. */
export function recordingLocalExecutor() {
  const local = new LocalExecutor();
  const calls: { command: string; opts: ExecOptions }[] = [];
  const exec: Executor = {
    run(command, opts) {
      calls.push({ command, opts });
      return local.run(command, opts);
    },
    disconnect: () => local.disconnect(),
    close: () => local.close(),
  };
  return { exec, calls };
}

/** Awaits a rejection and checks its code; returns the error for further checks. */
export async function rejectsWith(t: { equal(a: unknown, b: unknown): unknown }, p: Promise<unknown>, code: string): Promise<TendhostError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof TendhostError)) throw err;
    t.equal(err.code, code);
    return err;
  }
  throw new Error(`expected ${code}, but it resolved`);
}
