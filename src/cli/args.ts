// Flags every daemon-talking command shares, parsing through node:util
// parseArgs (strict: unknown flags are usage errors), and the client those
// flags describe.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { nodeClient, type NodeTendhostClient } from '../client/node.js';
import type { CliEnv } from './env.js';
import { UsageError } from './usage-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>>;

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  timeout: { type: 'string' },
} as const satisfies Options;

export const CONNECTION_USAGE = '[--url URL] [--token TOKEN] [--ca PEM-FILE] [--timeout SECONDS]';

export const JSON_OPTION = { json: { type: 'boolean' } } as const satisfies Options;

export const PAGING_OPTIONS = {
  page: { type: 'string' },
  'per-page': { type: 'string' },
} as const satisfies Options;

/** parseArgs, strict, with its errors turned into one-line usage errors. */
export function parse<O extends Options>(argv: string[], options: O, positionals: { min: number; max: number; names: string }): Parsed<O> {
  let r: Parsed<O>;
  try {
    r = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    // parseArgs explains at length how to pass a positional that starts with '-'; the first sentence says it all.
    throw new UsageError(String((err as Error).message).split('. ')[0].replace(/\.$/, ''));
  }
  const n = r.positionals.length;
  if (n < positionals.min) throw new UsageError(`missing ${positionals.names}`);
  if (n > positionals.max) throw new UsageError(`unexpected argument "${r.positionals[positionals.max]}"`);
  return r;
}

export function intFlag(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  return Number(v);
}

export function paging(v: { page?: string; 'per-page'?: string }): { page?: number; per_page?: number } {
  return { page: intFlag('page', v.page, 1, 1_000_000), per_page: intFlag('per-page', v['per-page'], 1, 200) };
}

export function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

/** The client for --url/--token/--ca/--timeout, falling back to the environment. */
export function connect(v: { url?: string; token?: string; ca?: string; timeout?: string }, env: CliEnv): NodeTendhostClient {
  const url = v.url ?? env.url ?? DEFAULT_URL;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be an http:// or https:// URL, got "${url}"`);
  const caFile = v.ca ?? env.caFile;
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      throw new UsageError(`--ca: cannot read ${caFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  const timeout = v.timeout === undefined ? undefined : Number(v.timeout);
  if (timeout !== undefined && !(timeout > 0 && timeout <= 86_400)) throw new UsageError(`--timeout must be a number of seconds in (0, 86400], got "${v.timeout}"`);
  return nodeClient({ url, token: v.token ?? env.token, ca, timeoutMs: timeout === undefined ? undefined : Math.round(timeout * 1000) });
}
