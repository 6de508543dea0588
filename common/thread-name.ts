// Names the calling thread, as `top -H`, `ps -L` and /proc/<pid>/task show it,
// so an admin (or a benchmark) can tell the shard workers and the store writer
// from V8's and libuv's helper threads: otherwise every thread is "node".
// Linux lets a thread rename itself through /proc/thread-self/comm.
import { writeFileSync } from 'node:fs';

/** Linux keeps at most 15 bytes of a thread name. */
const MAX_THREAD_NAME = 15;

/** Name the calling thread. False where the OS has no such file (best effort: a name is only a label). */
export function nameThisThread(name: string): boolean {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, MAX_THREAD_NAME));
    return true;
  } catch {
    return false;
  }
}
