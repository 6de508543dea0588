// Request validation from the route's TypeBox schemas. Query strings are
// coerced by the schema's declared types (integers, booleans, repeatable
// arrays) before checking; every failure names the field.
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { TendhostError } from '../../common/errors.js';
import { expectation, keyPath, didYouMean, schemaAt, unknownAsFalseSchema, type SchemaError } from '../config/errors.js';

type Checker = ReturnType<typeof Compile>;
const compiled = new WeakMap<TSchema, Checker>();

function checker(schema: TSchema): Checker {
  let c = compiled.get(schema);
  if (!c) {
    c = Compile(schema);
    compiled.set(schema, c);
  }
  return c;
}

/** Throws VALIDATION_FAILED naming the field and what it must be. */
export function check(schema: TSchema, value: unknown, where: 'body' | 'query' | 'path'): void {
  const c = checker(schema);
  if (c.Check(value)) return;
  const errors: SchemaError[] = [...c.Errors(value)];
  const unknown = errors.find((e) => e.keyword === 'additionalProperties') ?? unknownAsFalseSchema(errors);
  if (unknown) {
    const name = String((unknown.params.additionalProperties as string[])[0]);
    const base = keyPath(unknown.instancePath);
    const field = base ? `${base}.${name}` : name;
    const known = Object.keys(schemaAt(schema, unknown.instancePath)?.properties ?? {});
    const hint = didYouMean(name, known);
    throw new TendhostError('VALIDATION_FAILED', `${where} field "${field}" is not allowed${hint ? ` (did you mean "${hint}"?)` : ''}`, {
      field,
      in: where,
    });
  }
  const required = errors.find((e) => e.keyword === 'required');
  const specific = errors
    .filter((e) => !['anyOf', 'boolean', 'required'].includes(e.keyword))
    .sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  if (!specific && required) {
    const props = required.params.requiredProperties as string[] | undefined;
    const name = props?.[0] ?? 'field';
    const base = keyPath(required.instancePath);
    const field = base ? `${base}.${name}` : name;
    throw new TendhostError('VALIDATION_FAILED', `${where} field "${field}" is required`, { field, in: where });
  }
  const e = specific ?? errors[0];
  const field = keyPath(e?.instancePath ?? '') || where;
  throw new TendhostError(
    'VALIDATION_FAILED',
    `${where} field "${field}" must be ${expectation(schemaAt(schema, e?.instancePath ?? ''))}`,
    { field, in: where },
  );
}

function typeOf(s: any): string | undefined {
  if (!s) return undefined;
  if (s.type) return s.type;
  if (s.anyOf) return s.anyOf.map((x: any) => x.type).find((t: string) => t && t !== 'null');
  return undefined;
}

/** Query string → object, typed by the schema (unknown keys are kept, so they fail validation). */
export function parseQuery(raw: string, schema: TSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!raw) return out;
  const props: Record<string, any> = (schema as any)?.properties ?? {};
  for (const pair of raw.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = decode(eq < 0 ? pair : pair.slice(0, eq));
    const v = decode(eq < 0 ? '' : pair.slice(eq + 1));
    const p = props[k];
    const t = typeOf(p);
    if (t === 'array') {
      const list = (out[k] as unknown[] | undefined) ?? [];
      list.push(coerce(v, typeOf(p.items)));
      out[k] = list;
    } else {
      // A repeated scalar keeps the last value; validation sees one value.
      out[k] = coerce(v, t);
    }
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function coerce(v: string, type: string | undefined): unknown {
  if (type === 'integer' || type === 'number') {
    return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  if (type === 'boolean') return v === 'true' || v === '1' || v === '' ? true : v === 'false' || v === '0' ? false : v;
  return v;
}
