// A cluster node as a child process (harness/cluster-node.ts, run from the
// built tree like the daemon), so a test or a bench can SIGKILL it. Its
// stdout is one JSON line per event; `owned` follows its last 'owned' line.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './daemon.js';

export interface ClusterNodeProc {
  id: string;
  proc: ChildProcess;
  owned: number[];
  /** Every line it printed, parsed. */
  lines: Array<{ event: string; [k: string]: unknown }>;
}

export function spawnClusterNode(natsUrl: string, id: string, partitions: number, ttlS: number): ClusterNodeProc {
  const script = join(ROOT, 'dist/harness/cluster-node.js');
  const proc = spawn(process.execPath, [script, natsUrl, id, String(partitions), String(ttlS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const node: ClusterNodeProc = { id, proc, owned: [], lines: [] };
  let buf = '';
  proc.stdout!.on('data', (c) => {
    buf += c;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      node.lines.push(line);
      if (line.event === 'owned') node.owned = line.owned;
    }
  });
  proc.stderr!.on('data', (c) => process.stderr.write(`[${id}] ${c}`));
  return node;
}
