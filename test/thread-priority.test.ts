// [daemon] worker_nice: what an admin sees in `top -H` — the front thread at
// the daemon's own priority, the shard workers and the store writer below it.
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { LOCALHOST_TOML, startDaemon } from './helpers/daemon.js';

/** tid → nice value of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNice(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const afterComm = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    out.set(Number(tid), Number(afterComm[16]));
  }
  return out;
}

t.test('worker and store-writer threads run worker_nice levels below the front thread', async (t) => {
  const d = await startDaemon({ workers: 2, daemon: 'worker_nice = 7', toml: LOCALHOST_TOML });
  t.teardown(() => d.stop());
  const nice = threadNice(d.proc.pid!);
  t.equal(nice.get(d.proc.pid!), 0, 'the front (main) thread keeps the daemon priority');
  // Two shard workers and the writer; threads they start inherit it.
  t.ok([...nice.values()].filter((n) => n === 7).length >= 3, 'both shard workers and the store writer are at nice 7');
  t.equal((await d.get('/hosts/localhost')).status, 200, 'the daemon serves as usual');
});

t.test('worker_nice = 0 leaves every thread at the daemon priority', async (t) => {
  const d = await startDaemon({ workers: 2, daemon: 'worker_nice = 0', toml: LOCALHOST_TOML });
  t.teardown(() => d.stop());
  t.same([...new Set(threadNice(d.proc.pid!).values())], [0]);
});
