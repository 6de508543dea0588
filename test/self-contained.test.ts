// A clone with nothing beside it must pass: no file in the repository may
// name a path outside it (a sibling folder, a build machine's home or work
// folder). .ci/run runs the same check before the suite, on a copy with no
// siblings.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../harness/daemon.js';

// Bracket expressions, so this file does not match itself.
const OUTSIDE = /\.\.\/share[d]|\/wor[k]\/|\/far[m]\/|\/hom[e]\/[a-z]/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.tap']);

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) yield* files(path);
    else if (st.isFile() && name !== 'package-lock.json' && st.size < 4 * 1024 * 1024) yield path;
  }
}

t.test('no file in the repository refers to a path outside it', async (t) => {
  const hits: string[] = [];
  let checked = 0;
  for (const path of files(ROOT)) {
    const buf = readFileSync(path);
    if (buf.includes(0)) continue; // binary (the fixture .deb/.rpm files)
    checked++;
    buf
      .toString('utf8')
      .split('\n')
      .forEach((line, i) => {
        if (OUTSIDE.test(line)) hits.push(`${relative(ROOT, path)}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
  }
  t.ok(checked > 100, `checked ${checked} text files`);
  t.same(hits, [], 'no outside paths');
});

t.test('the fixtures the tests read are inside the repository', async (t) => {
  for (const dir of ['apt', 'apt-chroot', 'dnf', 'build']) {
    t.ok(statSync(join(ROOT, 'test', 'fixtures', dir)).isDirectory(), `test/fixtures/${dir}`);
  }
  t.match(readFileSync(join(ROOT, 'test', 'fixtures', 'README.md'), 'utf8'), /## Re-capturing/);
});
