// What a soak checks once it is quiet: every job's accounting, and the model
// of each client that kept resuming against what GET /hosts says.
import { isDeepStrictEqual } from 'node:util';
import type { SoakClient } from './soak-clients.js';

export interface JobCheck {
  id: string;
  kind: string;
  dry_run: boolean;
  state: string;
  summary: Record<string, number>;
  /** Per-host results counted by paging GET /jobs/{id}/hosts (null when the job is not one of ours). */
  paged: Record<string, number> | null;
  /** completed + failed + unreachable + skipped = total, nothing pending or running, and the pages agree. */
  balanced: boolean;
}

async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return res.json();
}

/**
 * Until the job is neither queued nor running. At `cancelAt` (the soak's end)
 * a rollout still going is cancelled: its hosts not yet started are skipped,
 * its running ones finish; then it gets `afterCancelMs` to end.
 */
export async function waitForRollout(
  base: string,
  id: string,
  cancelAt: number,
  afterCancelMs: number,
): Promise<{ id: string; state: string; summary: Record<string, number>; cancelled: boolean }> {
  let cancelled = false;
  let misses = 0;
  for (;;) {
    let job: any;
    try {
      job = await getJson(`${base}/jobs/${id}`);
    } catch (err) {
      // A read that got no answer is counted by the steady reads; here only a run of them ends the soak.
      if (++misses >= 5) throw err;
      await new Promise((r) => setTimeout(r, 2_000));
      continue;
    }
    misses = 0;
    if (job.state !== 'queued' && job.state !== 'running') return { ...job, cancelled };
    const now = performance.now();
    if (!cancelled && now >= cancelAt) {
      const res = await fetch(`${base}/jobs/${id}/cancel`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
      if (res.status !== 200) throw new Error(`POST /jobs/${id}/cancel: ${res.status} ${(await res.text()).slice(0, 200)}`);
      cancelled = true;
    }
    if (cancelled && now > cancelAt + afterCancelMs) throw new Error(`job ${id} still ${job.state} ${Math.round(afterCancelMs / 1000)} s after it was cancelled: ${JSON.stringify(job.summary)}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

async function pagedStates(base: string, id: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let page = 1; page <= 1000; page++) {
    const r = await getJson(`${base}/jobs/${id}/hosts?page=${page}&per_page=200`);
    for (const h of r.data as Array<{ state: string }>) counts[h.state] = (counts[h.state] ?? 0) + 1;
    if (page >= r.pagination.total_pages) break;
  }
  return counts;
}

/** Every job the daemon lists, and ours (the rollouts) also paged host by host. */
export async function jobAccounting(base: string, ours: string[]): Promise<JobCheck[]> {
  const all = new Map<string, any>();
  for (let page = 1; page <= 1000; page++) {
    const r = await getJson(`${base}/jobs?page=${page}&per_page=200`);
    for (const j of r.data) all.set(j.id, j);
    if (page >= r.pagination.total_pages) break;
  }
  for (const id of ours) if (!all.has(id)) all.set(id, await getJson(`${base}/jobs/${id}`));
  const out: JobCheck[] = [];
  for (const job of all.values()) {
    const s = job.summary as Record<string, number>;
    const paged = ours.includes(job.id) ? await pagedStates(base, job.id) : null;
    const finished = job.state !== 'queued' && job.state !== 'running';
    const sum = s.completed! + s.failed! + s.unreachable! + s.skipped!;
    const pagesAgree = paged === null || Object.entries(paged).every(([k, v]) => s[k] === v) && Object.values(paged).reduce((a, b) => a + b, 0) === s.total;
    out.push({
      id: job.id,
      kind: job.kind,
      dry_run: job.dry_run,
      state: job.state,
      summary: s,
      paged,
      balanced: finished && sum === s.total && s.pending === 0 && s.running === 0 && pagesAgree,
    });
  }
  return out;
}

export interface ModelCheck {
  hosts: number;
  /** Host entries that differ, summed over the clients (missing, extra or unequal). */
  mismatches: number;
  examples: string[];
  /** Each client's last seq against the daemon's at the time of the comparison. */
  seqs: Array<{ client: number; seq: number; daemon: number; state: string }>;
}

async function eventSeq(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^tendhost_event_seq (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function allHosts(base: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (let page = 1; page <= 1000; page++) {
    const r = await getJson(`${base}/hosts?page=${page}&per_page=200`);
    for (const h of r.data) out.set(h.name, h);
    if (page >= r.pagination.total_pages) break;
  }
  return out;
}

/**
 * Once the daemon's event seq stands still and every client has caught up
 * with it (bounded by `maxMs`), each client's hosts against GET /hosts.
 */
export async function checkModels(base: string, clients: SoakClient[], maxMs: number): Promise<ModelCheck> {
  const end = performance.now() + maxMs;
  let seq = await eventSeq(base);
  for (;;) {
    await new Promise((r) => setTimeout(r, 2_000));
    const now = await eventSeq(base);
    const caughtUp = clients.every((c) => c.stream.state === 'live' && c.stream.model.seq === now);
    if ((now === seq && caughtUp) || performance.now() > end) {
      seq = now;
      break;
    }
    seq = now;
  }
  const truth = await allHosts(base);
  const after = await eventSeq(base);
  const check: ModelCheck = { hosts: truth.size, mismatches: 0, examples: [], seqs: [] };
  const note = (s: string) => {
    if (check.examples.length < 5) check.examples.push(s);
  };
  if (after !== seq) note(`events went on while the hosts were read (seq ${seq} → ${after})`);
  for (const c of clients) {
    const m = c.stream.model;
    check.seqs.push({ client: c.tally.id, seq: m.seq, daemon: seq, state: c.stream.state });
    for (const [name, h] of truth) {
      const mine = m.hosts.get(name);
      if (!isDeepStrictEqual(mine, h)) {
        check.mismatches++;
        note(`client ${c.tally.id} ${name}: ${mine ? 'differs' : 'missing'}`);
      }
    }
    for (const name of m.hosts.keys()) {
      if (!truth.has(name)) {
        check.mismatches++;
        note(`client ${c.tally.id} has ${name}, which the daemon no longer lists`);
      }
    }
  }
  return check;
}
