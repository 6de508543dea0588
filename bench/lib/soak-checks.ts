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
  /** Ours, accounted when it ended, and since evicted from the daemon's memory by its job bounds (GET → 404). */
  evicted: boolean;
}

/** A GET that may answer 404 (null); any other non-200 throws. */
async function getJsonOrGone(url: string): Promise<any | null> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return res.json();
}

async function getJson(url: string): Promise<any> {
  const body = await getJsonOrGone(url);
  if (body === null) throw new Error(`GET ${url}: 404`);
  return body;
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

function check(job: any, paged: Record<string, number> | null, evicted: boolean): JobCheck {
  const s = job.summary as Record<string, number>;
  const finished = job.state !== 'queued' && job.state !== 'running';
  const sum = s.completed! + s.failed! + s.unreachable! + s.skipped!;
  const pagesAgree = paged === null || (Object.entries(paged).every(([k, v]) => s[k] === v) && Object.values(paged).reduce((a, b) => a + b, 0) === s.total);
  return {
    id: job.id,
    kind: job.kind,
    dry_run: job.dry_run,
    state: job.state,
    summary: s,
    paged,
    balanced: finished && sum === s.total && s.pending === 0 && s.running === 0 && pagesAgree,
    evicted,
  };
}

/**
 * One of our rollouts, accounted as soon as it ended (its summary and its
 * paged host results): the daemon keeps a bounded number of per-host results
 * in memory, so a job read at the soak's end may be gone.
 */
export async function accountRollout(base: string, id: string): Promise<JobCheck> {
  const job = await getJson(`${base}/jobs/${id}`);
  return check(job, await pagedStates(base, id), false);
}

/**
 * Every job the daemon still lists, plus ours as they were accounted when they
 * ended. Ours that are still there are read again (a finished job's counts must
 * not move); ours that the daemon evicted keep their end-time check and are
 * flagged `evicted` — what a bounded memory is meant to do, so not a failure.
 */
export async function jobAccounting(base: string, ours: Map<string, JobCheck>): Promise<JobCheck[]> {
  const all = new Map<string, any>();
  for (let page = 1; page <= 1000; page++) {
    const r = await getJson(`${base}/jobs?page=${page}&per_page=200`);
    for (const j of r.data) all.set(j.id, j);
    if (page >= r.pagination.total_pages) break;
  }
  const out: JobCheck[] = [];
  for (const [id, atEnd] of ours) {
    const now = all.get(id) ?? (await getJsonOrGone(`${base}/jobs/${id}`));
    all.delete(id);
    if (now === null) {
      out.push({ ...atEnd, evicted: true });
      continue;
    }
    const again = check(now, atEnd.paged, false);
    // A finished job whose counts changed since it ended is unbalanced whatever the sums say.
    out.push({ ...again, balanced: again.balanced && atEnd.balanced && JSON.stringify(now.summary) === JSON.stringify(atEnd.summary) });
  }
  for (const job of all.values()) out.push(check(job, null, false));
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
