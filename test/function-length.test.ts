// No function in the shipped code (common/, workers/, src/) runs over 60
// lines, except the ones listed here with the reason a reader is better
// served by one long function than by pieces. The harness, benchmarks and
// tests are not shipped and not checked: a benchmark's main reads top to
// bottom as the steps it measures.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { longFunctions } from './helpers/long-functions.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LIMIT = 60;

/** `file function` → why it stays long. Each one is a list read entry by entry, not steps to follow. */
const JUSTIFIED: Record<string, string> = {
  'src/metrics.ts Metrics.constructor': 'the declarations of every Prometheus metric, one after another with its help text: one list to scan for a name',
  'src/http/handlers/hosts.ts hostRoutes': 'the /hosts route table: one declarative entry per route (schemas, errors, a one-line handler)',
  'src/http/handlers/jobs.ts jobRoutes': 'the /jobs route table: one declarative entry per route',
  'common/host-machine.ts step': "the host machine's transition table as one switch: every input's edges side by side, checked against TRANSITIONS",
  'src/client/fleet-model.ts FleetModel.#applyBody': 'one short case per stream event type, the switch the event union is checked against',
};

t.test(`no function over ${LIMIT} lines in common/, workers/, src/ but the justified ones`, async (t) => {
  const found = longFunctions(ROOT, ['common', 'workers', 'src'], LIMIT);
  const unjustified = found.filter((f) => !(f.key in JUSTIFIED)).map((f) => `${f.where} ${f.key.slice(f.key.indexOf(' ') + 1)}: ${f.lines} lines`);
  t.same(unjustified, [], 'split these into named pieces, or list them with a reason');
  const stale = Object.keys(JUSTIFIED).filter((k) => !found.some((f) => f.key === k));
  t.same(stale, [], 'exceptions that are no longer long (or were renamed): drop them');
  t.ok(found.length >= Object.keys(JUSTIFIED).length, `${found.length} long functions, all listed`);
});

t.test('the checker finds a long function, names it, and counts its lines', async (t) => {
  // Its own helpers: a small tree that certainly has named, anonymous and nested functions.
  const all = longFunctions(ROOT, ['test/helpers'], 8);
  const walker = all.find((f) => f.key === 'test/helpers/long-functions.ts longFunctions');
  t.ok(walker, 'longFunctions itself is over 8 lines');
  t.match(walker?.where, /^test\/helpers\/long-functions\.ts:\d+$/);
  t.ok(all.every((f) => f.lines > 8), 'only functions over the limit');
  t.ok(all.some((f) => f.key === 'test/helpers/long-functions.ts visit'), 'an arrow function is named by its variable');
});
