// Turning schema failures into one readable line: which key, what was
// expected, a did-you-mean for a misspelt key, and the line in the file.

export class ConfigError extends Error {
  readonly file: string;
  readonly key: string | null;
  readonly line: number | undefined;

  constructor(file: string, key: string | null, problem: string, line?: number) {
    const where = line ? `${file}:${line}` : file;
    super(key ? `${where}: ${key} ${problem}` : `${where}: ${problem}`);
    this.name = 'ConfigError';
    this.file = file;
    this.key = key;
    this.line = line;
  }
}

export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

export type Schema = Record<string, any>;

/** `/host/2/port` → `host[2].port` */
export function keyPath(instancePath: string): string {
  let out = '';
  for (const part of instancePath.split('/').slice(1)) {
    const p = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  }
  return out;
}

/** The sub-schema at an instance path (through objects, arrays, records). */
export function schemaAt(root: Schema, instancePath: string): Schema | undefined {
  let s: Schema | undefined = root;
  for (const part of instancePath.split('/').slice(1)) {
    if (!s) return undefined;
    if (s.anyOf) s = s.anyOf.find((x: Schema) => x.type === 'object' || x.type === 'array') ?? s.anyOf[0];
    if (!s) return undefined;
    if (s.type === 'array') s = s.items;
    else if (s.properties && part in s.properties) s = s.properties[part];
    else if (s.patternProperties) s = Object.values(s.patternProperties)[0] as Schema;
    else return undefined;
  }
  return s;
}

/** A human phrase for what a schema accepts: "an integer 1..65535". */
export function expectation(s: Schema | undefined): string {
  if (!s) return 'a valid value';
  if (s.anyOf) {
    const consts = s.anyOf.filter((x: Schema) => 'const' in x).map((x: Schema) => JSON.stringify(x.const));
    if (consts.length === s.anyOf.length) return `one of ${consts.join(', ')}`;
    return s.anyOf.map((x: Schema) => expectation(x)).join(' or ');
  }
  if ('const' in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
  const range = (lo?: number, hi?: number) =>
    lo !== undefined && hi !== undefined ? ` ${lo}..${hi}` : lo !== undefined ? ` >= ${lo}` : hi !== undefined ? ` <= ${hi}` : '';
  switch (s.type) {
    case 'integer':
      return `an integer${range(s.minimum, s.maximum)}`;
    case 'number':
      return `a number${s.exclusiveMinimum !== undefined ? ` > ${s.exclusiveMinimum}` : range(s.minimum, s.maximum)}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      if (s.pattern === '^([01][0-9]|2[0-3]):[0-5][0-9]$') return 'a time "HH:MM" (00:00..23:59)';
      if (s.pattern) return `a string matching ${s.pattern}`;
      if (s.format === 'host-address') return 'a host name (RFC 1123), an IPv4 or an IPv6 address';
      return s.minLength ? 'a non-empty string' : 'a string';
    case 'array':
      return `an array of ${expectation(s.items).replace(/^an? /, '')}s`;
    case 'object':
      return 'a table';
    default:
      return 'a valid value';
  }
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

export function didYouMean(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return best !== null && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

/**
 * With several unknown keys in one table TypeBox may report each as a
 * `boolean` error ("schema is false", the additionalProperties: false schema)
 * at the key's own path, without an additionalProperties error: read the
 * unknown key off that path.
 */
export function unknownAsFalseSchema(errors: SchemaError[]): SchemaError | undefined {
  const e = errors.find((x) => x.keyword === 'boolean' && x.instancePath !== '');
  if (!e) return undefined;
  const cut = e.instancePath.lastIndexOf('/');
  const name = e.instancePath.slice(cut + 1).replace(/~1/g, '/').replace(/~0/g, '~');
  return { keyword: 'additionalProperties', instancePath: e.instancePath.slice(0, cut), params: { additionalProperties: [name] }, message: e.message };
}

/** Pick the most useful schema error and phrase it as {key, message}. */
export function describeSchemaError(
  root: Schema,
  _value: unknown,
  errors: SchemaError[],
): { key: string | null; message: string } {
  const unknown = errors.find((e) => e.keyword === 'additionalProperties') ?? unknownAsFalseSchema(errors);
  if (unknown) {
    const name = String((unknown.params.additionalProperties as string[])[0]);
    const parent = schemaAt(root, unknown.instancePath);
    const known = parent?.properties ? Object.keys(parent.properties) : [];
    const hint = didYouMean(name, known);
    const base = keyPath(unknown.instancePath);
    return {
      key: base ? `${base}.${name}` : name,
      message: `is not a known key${hint ? ` (did you mean "${hint}"?)` : ''}`,
    };
  }
  const missing = errors.find((e) => e.keyword === 'required');
  const useful = errors.filter((e) => !['anyOf', 'boolean', 'required'].includes(e.keyword));
  // The deepest error is the most specific one.
  useful.sort((a, b) => b.instancePath.length - a.instancePath.length);
  const e = useful[0];
  if (!e && missing) {
    const props = (missing.params.requiredProperties ?? missing.params.missingProperty) as string[] | string;
    const name = Array.isArray(props) ? props[0] : props;
    const base = keyPath(missing.instancePath);
    return { key: base ? `${base}.${name}` : String(name), message: 'is required' };
  }
  if (!e) return { key: null, message: errors[0]?.message ?? 'is invalid' };
  const key = keyPath(e.instancePath) || null;
  return { key, message: `must be ${expectation(schemaAt(root, e.instancePath))}` };
}

/**
 * Best-effort line of a key in the TOML text: finds the table header for the
 * key's section (counting `[[host]]` occurrences for `host[N]`) and then the
 * `name =` line inside it. Returns undefined when it cannot tell.
 */
export function findKeyLine(text: string, key: string | null): number | undefined {
  if (!key) return undefined;
  const lines = text.split(/\r?\n/);
  const parts = key.match(/[^.[\]]+|\[\d+\]/g) ?? [];
  let start = 0;
  let section = '';
  let i = 0;
  // Walk to the right table (and array-of-tables index).
  while (i < parts.length - 1) {
    const p = parts[i];
    const idx = parts[i + 1]?.startsWith('[') ? Number(parts[i + 1].slice(1, -1)) : null;
    const header = section ? `${section}.${p}` : p;
    const re = idx !== null ? new RegExp(`^\\s*\\[\\[\\s*${escape(header)}\\s*\\]\\]`) : new RegExp(`^\\s*\\[\\s*${escape(header)}\\s*\\]`);
    let count = -1;
    let found = -1;
    for (let l = start; l < lines.length; l++) {
      if (re.test(lines[l])) {
        count++;
        if (idx === null || count === idx) {
          found = l;
          break;
        }
      }
    }
    if (found < 0) break;
    start = found + 1;
    section = header;
    i += idx !== null ? 2 : 1;
  }
  const last = parts[parts.length - 1];
  const leaf = last?.startsWith('[') ? parts[parts.length - 2] : last;
  const keyRe = new RegExp(`^\\s*"?${escape(leaf ?? '')}"?\\s*=`);
  for (let l = start; l < lines.length; l++) {
    if (l > start && /^\s*\[/.test(lines[l])) break;
    if (keyRe.test(lines[l])) return l + 1;
  }
  return start > 0 ? start : undefined;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
