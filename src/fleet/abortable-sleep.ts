// The rollouts' sleep (delays between batches, waits for a window): wakes
// early when the signal fires (a cancel), so a cancelled rollout ends at once.
export function abortableSleep(ms: number, wake: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    // Timers cap at 2^31-1 ms; the rollout re-checks the window after waking.
    const t = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
    function done() {
      clearTimeout(t);
      wake.removeEventListener('abort', done);
      resolve();
    }
    wake.addEventListener('abort', done);
  });
}
