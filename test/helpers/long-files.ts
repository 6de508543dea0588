// Files longer than a limit: lines as `wc -l` counts them (a last line
// without its newline counts too), comments and blank lines included.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sourceFiles } from './long-functions.js';

export interface LongFile {
  /** The file's path in the repo. */
  file: string;
  lines: number;
}

export function lineCount(text: string): number {
  if (text === '') return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

/** Every .ts/.tsx file over `limit` lines under `dirs` (relative to `root`), longest first. */
export function longFiles(root: string, dirs: readonly string[], limit: number): LongFile[] {
  return dirs
    .flatMap((d) => sourceFiles(root, d))
    .map((file) => ({ file, lines: lineCount(readFileSync(join(root, file), 'utf8')) }))
    .filter((f) => f.lines > limit)
    .sort((a, b) => b.lines - a.lines);
}
