// What both baselines serve: the bench fleet as HostStatus objects in a Map,
// stringified on every request (no cached JSON) — the plain way to write it.
import { writeFileSync, renameSync } from 'node:fs';
import { DEFAULT_HOST_COUNT, PAGE_SIZE, fleetHosts, idleStatus, type BenchHostStatus } from '../lib/fleet-config.js';

export interface FleetStore {
  /** The host's JSON, or undefined for an unknown name. */
  host(name: string): string | undefined;
  /** One page of the list, `{data, pagination}`, from a raw query string. */
  page(query: string): string;
}

export function fleetStoreFromEnv(): FleetStore {
  const count = Number(process.env.BENCH_HOSTS ?? DEFAULT_HOST_COUNT);
  const shards = Number(process.env.BENCH_SHARDS ?? 2);
  const all: BenchHostStatus[] = fleetHosts(count).map((h) => idleStatus(h, shards));
  const byName = new Map(all.map((s) => [s.name, s]));

  return {
    host(name) {
      const s = byName.get(name);
      return s === undefined ? undefined : JSON.stringify(s);
    },
    page(query) {
      const q = new URLSearchParams(query);
      const perPage = clampInt(q.get('per_page'), PAGE_SIZE, 1, 500);
      const page = clampInt(q.get('page'), 1, 1, Number.MAX_SAFE_INTEGER);
      const start = (page - 1) * perPage;
      return JSON.stringify({
        data: all.slice(start, start + perPage),
        pagination: {
          page,
          per_page: perPage,
          total_items: all.length,
          total_pages: Math.ceil(all.length / perPage),
        },
      });
    },
  };
}

function clampInt(text: string | null, fallback: number, min: number, max: number): number {
  const n = text === null ? fallback : Number.parseInt(text, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

/**
 * Announce the bound port the way the daemon does (a JSON line with
 * `"msg":"listening"` on stdout) and, if given a path, in a port file too.
 */
export function announceListening(port: number, portFile: string | undefined): void {
  if (portFile) {
    writeFileSync(`${portFile}.tmp`, `${port}\n`);
    renameSync(`${portFile}.tmp`, portFile); // readers never see a half-written file
  }
  process.stdout.write(`${JSON.stringify({ level: 30, msg: 'listening', port, pid: process.pid })}\n`);
}
