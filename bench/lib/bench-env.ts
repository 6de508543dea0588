// What every HTTP benchmark reads from its environment, and where it writes.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench when compiled. */
export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(BENCH_DIR, '..', '..');

export function resultFile(name: string): string {
  return join(REPO_ROOT, 'bench', 'results', `${name}.json`);
}

/** A positive number from the environment, or the fallback. */
export function envNumber(key: string, fallback: number): number {
  const raw = process.env[key];
  const n = Number(raw ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${key} must be a positive number, got "${raw}"`);
  return n;
}

/** The wrk load every HTTP benchmark uses (BENCH_SECONDS, BENCH_CONNECTIONS, …). */
export function loadSettings(defaultHosts: number) {
  return {
    seconds: envNumber('BENCH_SECONDS', 5),
    warmup_seconds: envNumber('BENCH_WARMUP_SECONDS', 1),
    connections: envNumber('BENCH_CONNECTIONS', 50),
    threads: 1,
    repeat: Math.round(envNumber('BENCH_REPEAT', 1)),
    hosts: Math.round(envNumber('BENCH_HOSTS', defaultHosts)),
    daemon_workers: Math.round(envNumber('BENCH_DAEMON_WORKERS', 2)),
  };
}
