// The tree is the architecture (README, Layout): these rules keep it so.
//   common/   imported by the front and the workers; imports neither
//   workers/  the shard threads; never the front (src/)
//   src/      the front process; never a worker module (it names the worker
//             file by URL only)
//   harness/  test and bench harness; never shipped, never imported by the product
//   bench/, test/  may use the harness, never each other
// and no import cycle anywhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAYERS = ['common', 'workers', 'src', 'harness', 'bench', 'test'] as const;
type Layer = (typeof LAYERS)[number];

const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  common: ['common'],
  workers: ['workers', 'common'],
  src: ['src', 'common'],
  harness: ['harness', 'common', 'workers', 'src'],
  bench: ['bench', 'harness', 'common', 'workers', 'src'],
  test: ['test', 'harness', 'common', 'workers', 'src'],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.tsx?$/.test(name)) out.push(rel);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Relative imports of one file, as repo paths of .ts/.tsx sources. Type-only imports count too: they are coupling. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2])!;
    const target = normalize(join(dirname(file), spec)).replace(/\.js$/, '');
    for (const ext of ['.ts', '.tsx', '/index.ts']) {
      try {
        if (statSync(join(ROOT, target + ext)).isFile()) { out.push(target + ext); break; }
      } catch { /* try the next extension */ }
    }
  }
  return out;
}

const layerOf = (file: string): Layer => file.split('/')[0] as Layer;
const files = LAYERS.flatMap((l) => sourceFiles(l));
const graph = new Map(files.map((f) => [f, importsOf(f)]));

t.test('each layer imports only the layers below it', async (t) => {
  const breaches: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (!MAY_IMPORT[layerOf(file)].includes(layerOf(target))) breaches.push(`${file} → ${target}`);
    }
  }
  t.same(breaches, [], 'no import crosses a layer upwards');
  t.ok(graph.size > 200, `${graph.size} files read`);
});

t.test('no import cycle anywhere', async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative('.', f)).join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  t.same(cycles, [], 'the import graph is acyclic');
});
