// What an operator does after a worker crash: the hosts whose operation the
// crash cut short (failed, code WORKER_FAILED) are retried, so they take part
// in the next rollouts again. Without it the soak's killed worker left its
// shard's in-flight hosts failed — skipped by every later rollout, about half
// the fleet for the rest of the run.
export interface RetryTally {
  retried: number;
  /** Answers other than 202 (e.g. the host went back to work meanwhile), by status. */
  refused: Record<string, number>;
}

/** Retries the hosts of job `id` that failed with WORKER_FAILED, `concurrency` requests at a time. */
export async function retryWorkerFailures(base: string, id: string, concurrency = 8): Promise<RetryTally> {
  const names: string[] = [];
  for (let page = 1; page <= 1000; page++) {
    const res = await fetch(`${base}/jobs/${id}/hosts?state=failed&page=${page}&per_page=200`, { signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) throw new Error(`GET /jobs/${id}/hosts?state=failed: ${res.status} ${(await res.text()).slice(0, 200)}`);
    const body = (await res.json()) as { data: Array<{ host: string; code: string | null }>; pagination: { total_pages: number } };
    for (const h of body.data) if (h.code === 'WORKER_FAILED') names.push(h.host);
    if (page >= body.pagination.total_pages) break;
  }
  const tally: RetryTally = { retried: 0, refused: {} };
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++]!;
      const res = await fetch(`${base}/hosts/${encodeURIComponent(name)}/retry`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      if (res.status === 202) tally.retried++;
      else tally.refused[res.status] = (tally.refused[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  return tally;
}
