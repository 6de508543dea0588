// Human output: aligned tables that fit the terminal's width (the widest
// column is cut first, with an ellipsis), and machine output (--json).
import type { CliEnv } from './env.js';

export function writeJson(env: CliEnv, value: unknown): void {
  env.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function writeLine(env: CliEnv, line = ''): void {
  env.stdout.write(`${line}\n`);
}

/** Rows under a header, columns separated by two spaces, at most `width` wide. */
export function table(header: string[], rows: string[][], width: number): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const gap = 2 * (header.length - 1);
  // Shrink the widest column until the table fits (never below its header or 8 characters).
  while (widths.reduce((a, b) => a + b, 0) + gap > width) {
    let widest = 0;
    for (let i = 1; i < widths.length; i++) if (widths[i] > widths[widest]) widest = i;
    const floor = Math.max(8, header[widest].length);
    if (widths[widest] <= floor) break;
    widths[widest]--;
  }
  return all
    .map((r) =>
      r
        .map((cell, i) => fit(cell ?? '', widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function fit(s: string, width: number): string {
  if (s.length > width) return width <= 1 ? s.slice(0, width) : `${s.slice(0, width - 1)}…`;
  return s.padEnd(width);
}

export function dash(v: string | number | null | undefined): string {
  return v === null || v === undefined || v === '' ? '-' : String(v);
}

/** "page 1/3 (120 hosts)" under a paged list. */
export function pageLine(p: { page: number; total_pages: number; total_items: number }, noun: string): string {
  return `page ${p.page}/${Math.max(1, p.total_pages)} (${p.total_items} ${noun})`;
}
