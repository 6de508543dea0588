// The front's event-loop delay windows: a stall shows in the window it
// happened in (whatever the sampling interval, at least its length less the
// coarse interval), and the next window starts afresh.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopDelayWindows, IDLE_RESOLUTION_MS, type DelayWindow } from '../../src/event-loop-delay.js';

const WINDOW_MS = 1500;
const STALL_MS = 1000;

function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** The next window's figures, once it has ended. */
async function nextWindow(delay: EventLoopDelayWindows): Promise<DelayWindow> {
  const before = delay.last;
  while (delay.last === before) await sleep(20);
  return delay.last;
}

t.test('a stall shows in its window, and the next window starts afresh', async (t) => {
  const delay = new EventLoopDelayWindows(WINDOW_MS);
  t.teardown(() => delay.stop());
  t.same(delay.last, { p50: 0, p99: 0, max: 0 }, 'nothing before the first window ends');
  await sleep(50);
  stall(STALL_MS);
  const seen = await nextWindow(delay);
  t.ok(seen.max >= STALL_MS - IDLE_RESOLUTION_MS, `the ${STALL_MS} ms stall shows: max ${seen.max.toFixed(1)} ms`);
  t.ok(seen.p50 <= seen.p99 && seen.p99 <= seen.max, 'p50 ≤ p99 ≤ max');
  const quiet = await nextWindow(delay);
  t.ok(quiet.max < STALL_MS - IDLE_RESOLUTION_MS, `the quiet window after it: max ${quiet.max.toFixed(1)} ms`);
});
