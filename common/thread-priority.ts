// Background threads (shard workers: SSH and package work; the state-store
// writer) run a few nice levels below the front thread, so that on a busy
// machine the scheduler serves HTTP and WebSocket clients first and bulk work
// waits a little instead. On Linux the nice value is per thread, and raising
// it needs no privilege (lowering it back would).
import os from 'node:os';

/** Lower the calling thread's priority by `by` nice levels (capped at 19). False when the OS refused. */
export function lowerThisThreadPriority(by: number): boolean {
  if (by <= 0) return true;
  try {
    os.setPriority(0, Math.min(19, os.getPriority(0) + by));
    return true;
  } catch {
    return false; // best effort: a thread at normal priority still works
  }
}
