// A fleet spread over several simulator processes: which process holds which
// hosts, and the control API of all of them as one (totals summed, host lists
// joined, a request about named hosts sent to the processes that hold them).
// Each process opens one listener per host, and a process may hold only
// `ulimit -Hn` descriptors (20,000 here): 100,000 hosts need several.

/** Hosts per simulator process unless told otherwise: half the fd limit, the other half left for connections. */
export const HOSTS_PER_PROCESS = 10_000;

export interface Slice {
  /** Number of its first host (1-based). */
  first: number;
  count: number;
}

/** `hosts` in `procs` contiguous slices, as even as whole hosts allow. */
export function fleetSlices(hosts: number, procs: number): Slice[] {
  if (!Number.isInteger(procs) || procs < 1) throw new Error(`simulator processes must be a positive integer, got ${procs}`);
  const n = Math.min(procs, hosts);
  const slices: Slice[] = [];
  let first = 1;
  for (let k = 0; k < n; k++) {
    const count = Math.floor(hosts / n) + (k < hosts % n ? 1 : 0);
    slices.push({ first, count });
    first += count;
  }
  return slices;
}

/** Which slice holds a host, from the number its name ends with (`sim-042017` → 42017); -1 if none. */
export function sliceOf(slices: readonly Slice[], name: string): number {
  const m = /(\d+)$/.exec(name);
  if (!m) return -1;
  const i = Number(m[1]);
  return slices.findIndex((s) => i >= s.first && i < s.first + s.count);
}

type Json = Record<string, unknown>;

/** Sums the processes' GET /summary answers: numbers add up, and so do maps of numbers (personas, faults). */
export function mergeSummaries(parts: Json[]): Json {
  const out: Json = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (typeof v === 'number') out[k] = ((out[k] as number | undefined) ?? 0) + v;
      else if (v !== null && typeof v === 'object') {
        const into = (out[k] ??= {}) as Record<string, number>;
        for (const [kk, vv] of Object.entries(v as Record<string, number>)) into[kk] = (into[kk] ?? 0) + vv;
      } else out[k] ??= v;
    }
  }
  return out;
}

/** One control call on one process. */
export type ControlCall = (proc: number, path: string, body?: unknown) => Promise<any>;

/** The control API over every process, as harness/simulator/control.ts serves it for one. */
export async function controlAll(slices: readonly Slice[], call: ControlCall, path: string, body?: unknown): Promise<any> {
  const all = slices.map((_, k) => k);
  if (slices.length === 1) return call(0, path, body);
  if (body === undefined && path === '/summary') return mergeSummaries(await Promise.all(all.map((k) => call(k, path))));
  if (body === undefined && (path === '/hosts' || path.startsWith('/hosts?'))) {
    const parts = await Promise.all(all.map((k) => call(k, path)));
    return { hosts: parts.flatMap((p) => p.hosts ?? []) };
  }
  if (body === undefined && path.startsWith('/hosts/')) {
    const k = sliceOf(slices, decodeURIComponent(path.slice('/hosts/'.length)));
    return k < 0 ? { error: `no such host "${path.slice('/hosts/'.length)}"` } : call(k, path);
  }
  if (path === '/reset-counters') {
    await Promise.all(all.map((k) => call(k, path, body)));
    return { ok: true };
  }
  if (path === '/fault' || path === '/pending') return byOwner(slices, call, path, body as Json);
  throw new Error(`simulator control: ${body === undefined ? 'GET' : 'POST'} ${path} is not known across processes`);
}

/** A POST about named hosts: each process gets the names it holds; the answers' host lists are joined. */
async function byOwner(slices: readonly Slice[], call: ControlCall, path: string, body: Json): Promise<any> {
  const names = typeof body.host === 'string' ? [body.host] : Array.isArray(body.hosts) ? (body.hosts as string[]) : [];
  const groups = new Map<number, string[]>();
  for (const n of names) {
    const k = sliceOf(slices, n);
    if (k < 0) throw new Error(`simulator control: no process holds host "${n}"`);
    const g = groups.get(k);
    if (g) g.push(n);
    else groups.set(k, [n]);
  }
  const { host: _host, ...rest } = body;
  const parts = await Promise.all([...groups].map(([k, hosts]) => call(k, path, { ...rest, hosts })));
  const failed = parts.find((p) => p.ok !== true);
  return failed ?? { ok: true, hosts: parts.flatMap((p) => p.hosts ?? []) };
}
