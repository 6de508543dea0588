// Every entry under a key filter of a KV bucket, read once and read whole.
// nats.js's kv.history() ends a read when an entry says nothing matching is
// pending after it, or at the consumer's idle heartbeat. While the bucket is
// written (a rollout's host results), its ordered push consumer can lose
// deliveries on nats-server 2.9 and stall short of that entry: the read then
// hung ≈ 30 s and ended at the heartbeat with entries missing (seen in
// test/cluster-rollout-pacing: the last entry delivered still had 2 pending).
// So a read that stops arriving with entries still pending is started again
// on a fresh consumer, and one that ends with entries pending is not trusted.
import type { KV, KvEntry } from '@nats-io/kv';

export interface ReadAllOptions {
  /** No entry for this long while some are pending: the read is started again. */
  stallMs?: number;
  /** Reads at most; the last one is waited for as nats.js ends it. */
  tries?: number;
}

export async function readAll(kv: Pick<KV, 'history'>, key: string, o: ReadAllOptions = {}): Promise<KvEntry[]> {
  const stallMs = o.stallMs ?? 1000;
  const tries = Math.max(1, o.tries ?? 5);
  for (let attempt = 1; ; attempt++) {
    const read = await readOnce(kv, key, attempt < tries ? stallMs : null);
    if (read.whole || attempt >= tries) return read.entries;
  }
}

async function readOnce(kv: Pick<KV, 'history'>, key: string, stallMs: number | null): Promise<{ entries: KvEntry[]; whole: boolean }> {
  const it = await kv.history({ key });
  const entries: KvEntry[] = [];
  let lastAt = Date.now();
  let stalled = false;
  const tick = stallMs === null ? 0 : Math.max(10, stallMs / 4);
  let lastTick = Date.now();
  const watchdog =
    stallMs === null
      ? null
      : setInterval(() => {
          const now = Date.now();
          // This thread was held up itself (a busy machine): entries may be waiting to be read; not a stall.
          if (now - lastTick > 2 * tick) lastAt = now;
          lastTick = now;
          if (now - lastAt < stallMs) return;
          stalled = true;
          it.stop();
        }, tick);
  try {
    for await (const e of it) {
      entries.push(e);
      lastAt = Date.now();
    }
  } finally {
    if (watchdog) clearInterval(watchdog);
  }
  // An empty read ended on the consumer's own count (nothing pending at its start).
  const last = entries.at(-1);
  return { entries, whole: !stalled && (last === undefined || last.delta === 0) };
}

/** The entries present now (the last of each key, deleted ones left out), in key order. */
export async function readPresent(kv: Pick<KV, 'history'>, key: string, o: ReadAllOptions = {}): Promise<KvEntry[]> {
  const last = new Map<string, KvEntry>();
  for (const e of await readAll(kv, key, o)) last.set(e.key, e);
  return [...last.values()].filter((e) => e.operation === 'PUT').sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
