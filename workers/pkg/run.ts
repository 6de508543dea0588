// How drivers run a command: with the context's limits, streaming stdout as
// lines when asked, and turning any result that is not usable (bad exit code,
// timeout, cut-off output the caller must parse) into a typed error.
import type { ExecResult, Executor } from '../exec/types.js';
import { classifyFailure } from './classify.js';
import type { DriverContext } from './driver.js';

export interface RunSpec {
  /** Needs root (the executor adds `sudo -n`). */
  root?: boolean;
  /** Exit codes that mean the command did its job (default: only 0). */
  okExit?: readonly number[];
  /** All of stdout is parsed: truncation is OUTPUT_TRUNCATED. */
  parseCritical?: boolean;
  /** Each stdout line as it arrives (CR, LF and CRLF all end a line). */
  onLine?: (line: string) => void;
  /** Kill the command early (its result is classified like any other). */
  signal?: AbortSignal;
}

export async function runChecked(exec: Executor, command: string, ctx: DriverContext, spec: RunSpec = {}): Promise<ExecResult> {
  const split = spec.onLine ? lineSplitter(spec.onLine) : null;
  let streamed = false;
  const r = await exec.run(command, {
    timeoutMs: ctx.timeoutMs,
    maxOutputBytes: ctx.maxOutputBytes,
    root: spec.root ?? false,
    signal: spec.signal,
    onStdout: split
      ? (chunk) => {
          streamed = true;
          split.push(chunk);
        }
      : undefined,
  });
  // An executor that does not stream still gets its lines reported, late.
  if (split && !streamed) split.push(r.stdout);
  split?.end();
  const ok = r.exitCode !== null && (spec.okExit ?? [0]).includes(r.exitCode);
  if (r.timedOut || !ok || (spec.parseCritical && r.truncated)) {
    throw classifyFailure(r, { command, parseCritical: spec.parseCritical });
  }
  return r;
}

/**
 * Reassembles lines from chunks. A pty (fixture apt-chroot/05) ends dpkg's
 * lines with CRLF and redraws progress with a bare CR; both count as a line
 * end, and the LF of a CRLF split across two chunks is not an empty line.
 */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let buf = '';
  let afterCR = false;
  return {
    push(chunk) {
      if (afterCR && chunk.startsWith('\n')) chunk = chunk.slice(1);
      afterCR = chunk.endsWith('\r');
      if (chunk === '') return;
      const parts = (buf + chunk).split(/\r\n|\r|\n/);
      buf = parts.pop() ?? '';
      for (const line of parts) onLine(line);
    },
    end() {
      if (buf !== '') onLine(buf);
      buf = '';
    },
  };
}

/** All lines of a finished output, split the same way as the streamed ones. */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  const s = lineSplitter((l) => lines.push(l));
  s.push(text);
  s.end();
  return lines;
}
