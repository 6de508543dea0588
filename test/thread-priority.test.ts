// [daemon] worker_nice and thread names: what an admin sees in `top -H` — the
// front thread at the daemon's own priority, the shard workers and the store
// writer below it, each under its own name.
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { LOCALHOST_TOML, startDaemon, until } from '../harness/daemon.js';

/** tid → nice value of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNice(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const afterComm = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    out.set(Number(tid), Number(afterComm[16]));
  }
  return out;
}

/** name → nice values of the threads with that name (/proc/<pid>/task/<tid>/comm). */
function niceByThreadName(pid: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [tid, nice] of threadNice(pid)) {
    const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    out.set(name, [...(out.get(name) ?? []), nice]);
  }
  return out;
}

t.test('worker and store-writer threads run worker_nice levels below the front thread', async (t) => {
  const d = await startDaemon({ workers: 2, daemon: 'worker_nice = 7', toml: LOCALHOST_TOML });
  t.teardown(() => d.stop());
  // A worker drops to worker_nice right after it has answered its attach (workers/shard.ts): wait for that.
  const atNice = (n: Map<number, number>) => [...n.values()].filter((v) => v === 7).length >= 3;
  const nice = await until(() => {
    const n = threadNice(d.proc.pid!);
    return atNice(n) ? n : null;
  }, 5_000).catch(() => threadNice(d.proc.pid!));
  t.equal(nice.get(d.proc.pid!), 0, 'the front (main) thread keeps the daemon priority');
  // Two shard workers and the writer; threads they start inherit it.
  t.ok(atNice(nice), 'both shard workers and the store writer are at nice 7');
  t.equal((await d.get('/hosts/localhost')).status, 200, 'the daemon serves as usual');
});

t.test('the shard workers and the store writer carry their names', async (t) => {
  const d = await startDaemon({ workers: 3, daemon: 'worker_nice = 5', toml: LOCALHOST_TOML });
  t.teardown(() => d.stop());
  const settled = (m: Map<string, number[]>) => ['shard-0', 'shard-1', 'shard-2'].every((n) => m.get(n)?.[0] === 5);
  const byName = await until(() => {
    const m = niceByThreadName(d.proc.pid!);
    return settled(m) ? m : null;
  }, 5_000).catch(() => niceByThreadName(d.proc.pid!));
  for (const name of ['shard-0', 'shard-1', 'shard-2', 'store-writer']) {
    t.same(byName.get(name), [5], `one thread named ${name}, at nice 5`);
  }
  t.notOk(byName.has('shard-3'), 'no more shard threads than workers');
});

t.test('worker_nice = 0 leaves every thread at the daemon priority', async (t) => {
  const d = await startDaemon({ workers: 2, daemon: 'worker_nice = 0', toml: LOCALHOST_TOML });
  t.teardown(() => d.stop());
  t.same([...new Set(threadNice(d.proc.pid!).values())], [0]);
});
