// No function in the shipped code (common/, workers/, src/) runs over 60
// lines and no file over 300, except the ones listed here with the reason a
// reader is better served by one long piece than by several. The harness,
// benchmarks and tests are not shipped and not checked: a benchmark's main
// reads top to bottom as the steps it measures.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { longFunctions } from './helpers/long-functions.js';
import { lineCount, longFiles } from './helpers/long-files.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHIPPED = ['common', 'workers', 'src'];
const LIMIT = 60;
const FILE_LIMIT = 300;

/** `file function` → why it stays long. Each one is a list read entry by entry, not steps to follow. */
const JUSTIFIED: Record<string, string> = {
  'src/metrics.ts Metrics.constructor': 'the declarations of every Prometheus metric, one after another with its help text: one list to scan for a name',
  'src/http/handlers/hosts.ts hostRoutes': 'the /hosts route table: one declarative entry per route (schemas, errors, a one-line handler)',
  'src/http/handlers/jobs.ts jobRoutes': 'the /jobs route table: one declarative entry per route',
  'common/host-machine.ts step': "the host machine's transition table as one switch: every input's edges side by side, checked against TRANSITIONS",
  'src/client/fleet-model.ts FleetModel.#applyBody': 'one short case per stream event type, the switch the event union is checked against',
};

/** `path/in/repo.ts` → why the file stays over FILE_LIMIT lines. None so far: a long file has always had a seam to split along. */
const LONG_FILES: Record<string, string> = {};

t.test(`no function over ${LIMIT} lines in common/, workers/, src/ but the justified ones`, async (t) => {
  const found = longFunctions(ROOT, SHIPPED, LIMIT);
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

t.test(`no file over ${FILE_LIMIT} lines in common/, workers/, src/ but the justified ones`, async (t) => {
  const found = longFiles(ROOT, SHIPPED, FILE_LIMIT);
  const unjustified = found.filter((f) => !(f.file in LONG_FILES)).map((f) => `${f.file}: ${f.lines} lines`);
  t.same(unjustified, [], 'split these along a seam (one concern per file), or list them with a reason');
  const stale = Object.keys(LONG_FILES).filter((k) => !found.some((f) => f.file === k));
  t.same(stale, [], 'exceptions that are no longer long (or were moved): drop them');
});

t.test('the file checker counts lines as wc -l does and finds the long ones', async (t) => {
  t.equal(lineCount(''), 0);
  t.equal(lineCount('a\n'), 1);
  t.equal(lineCount('a\nb'), 2, 'a last line without its newline counts');
  t.equal(lineCount('a\n\n// c\n'), 3, 'blank and comment lines count');
  // Its own helpers: long-functions.ts is certainly over 20 lines, and none is near 1,000.
  const over20 = longFiles(ROOT, ['test/helpers'], 20);
  t.ok(over20.some((f) => f.file === 'test/helpers/long-functions.ts'), 'a file over the limit is found, by its path in the repo');
  t.ok(over20.every((f) => f.lines > 20), 'only files over the limit');
  t.same(longFiles(ROOT, ['test/helpers'], 1000), [], 'none over a limit no helper reaches');
});
