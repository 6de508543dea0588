// How far V8 lets a heap grow past its live size before a full collection.
// By default up to 4× on a machine with memory to spare, and every isolate of
// the daemon (the front and each shard worker) does so on its own: a dry run
// over 100,000 hosts, whose live heaps are a few hundred MB, peaked at 2.7 GB
// of RSS, almost all of it garbage not yet collected. 1.5× keeps the peak
// near the live size (a 20,000-host dry run: 1,295 → 680 MiB) for about 4 %
// more CPU per host. Set once at start-up, before the workers exist (V8 flags
// are process-wide; every isolate created later reads them).
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

export function limitHeapGrowth(): void {
  // A flag given on the command line (e.g. for a benchmark) wins.
  if (process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
