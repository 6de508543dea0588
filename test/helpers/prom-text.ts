// A strict parser of the Prometheus text exposition format (0.0.4): every
// line must be a HELP, a TYPE or a sample of a declared family, labels must be
// well-formed and values numbers. Throws with the line number on anything else.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SUFFIXES: Record<Family['type'], string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

function parseValue(s: string, where: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${where}: bad value "${s}"`);
  return Number(s);
}

function parseLabels(body: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const key = body.slice(i, eq).trim();
    if (!LABEL.test(key)) throw new Error(`${where}: bad label name "${key}"`);
    if (body[eq + 1] !== '"') throw new Error(`${where}: label ${key} value is not quoted`);
    let j = eq + 2;
    let value = '';
    for (; j < body.length && body[j] !== '"'; j++) {
      if (body[j] === '\\') {
        const c = body[++j];
        if (c === 'n') value += '\n';
        else if (c === '\\' || c === '"') value += c;
        else throw new Error(`${where}: bad escape \\${c}`);
      } else value += body[j];
    }
    if (j >= body.length) throw new Error(`${where}: unterminated label value`);
    if (key in labels) throw new Error(`${where}: label ${key} twice`);
    labels[key] = value;
    i = j + 1;
    if (body[i] === ',') i++;
    else if (i < body.length) throw new Error(`${where}: expected "," after label ${key}`);
  }
  return labels;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('exposition must end with a newline');
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line === '') return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name "${name}"`);
      const fam = families.get(name) ?? { name, help: '', type: 'untyped' as const, samples: [] };
      if (kind === 'HELP') fam.help = rest;
      else {
        if (!(rest in SUFFIXES)) throw new Error(`${where}: bad type "${rest}"`);
        if (fam.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        fam.type = rest as Family['type'];
      }
      families.set(name, fam);
      return;
    }
    if (line.startsWith('#')) return; // a plain comment
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample: ${line}`);
    const [, name, labelBody, value] = m;
    const fam = [...families.values()].find((f) => SUFFIXES[f.type].some((s) => f.name + s === name));
    if (!fam) throw new Error(`${where}: sample ${name} of no declared family`);
    fam.samples.push({ name, labels: labelBody ? parseLabels(labelBody, where) : {}, value: parseValue(value, where) });
  });
  return families;
}

/** Every sample of `name` whose labels include `labels`. */
export function samples(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample[] {
  return [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The one sample of `name` with these labels; 0 when there is none (a counter never incremented). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const all = samples(families, name, labels);
  if (all.length > 1) throw new Error(`${all.length} samples of ${name}${JSON.stringify(labels)}`);
  return all.length === 0 ? 0 : all[0].value;
}
