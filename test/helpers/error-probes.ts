// For test/api-errors: send requests to a daemon, remember every answer by
// the OpenAPI operation it was aimed at, and compare what was seen with what
// the daemon's own /openapi.json documents for that operation.
import WebSocket from 'ws';
import { ERROR_CODES } from '../../common/errors.js';
import type { Daemon } from '../../harness/daemon.js';

export interface Seen {
  /** `METHOD /path/{param}` as in the document. */
  op: string;
  status: number;
  code: string | null;
  text: string;
  requestId: string | null;
  /** What the probe tried, for messages. */
  what: string;
}

export interface ProbeInit {
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
  contentType?: string;
  /** Authorization header value; default `Bearer <token>` when the recorder has one, null sends none. */
  auth?: string | null;
  headers?: Record<string, string>;
}

export const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export class Recorder {
  readonly seen: Seen[] = [];

  constructor(
    readonly d: Daemon,
    readonly token: string | null,
  ) {}

  /** One request aimed at `op`; the answer is recorded and returned. */
  async call(op: string, method: string, path: string, what: string, init: ProbeInit = {}): Promise<Seen> {
    const headers: Record<string, string> = { ...init.headers };
    const auth = init.auth === undefined ? (this.token ? `Bearer ${this.token}` : null) : init.auth;
    if (auth) headers.authorization = auth;
    if (init.contentType) headers['content-type'] = init.contentType;
    const req: RequestInit & { duplex?: 'half' } = { method, headers, body: init.body as BodyInit | undefined };
    if (init.body instanceof ReadableStream) req.duplex = 'half';
    const res = await fetch(this.d.url + path, req);
    const text = await res.text();
    return this.record({ op, status: res.status, code: codeOf(text), text, requestId: res.headers.get('x-request-id'), what: `${method} ${path.slice(0, 80)}: ${what}` });
  }

  /** A WebSocket upgrade aimed at `GET /ws/events`: 101, or the refusal's status and body. */
  upgrade(query: string, what: string, headers: Record<string, string> = {}): Promise<Seen> {
    const op = 'GET /ws/events';
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${this.d.port}/ws/events${query}`, { headers });
      ws.once('open', () => {
        ws.close();
        resolve(this.record({ op, status: 101, code: null, text: '', requestId: null, what }));
      });
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const id = res.headers['x-request-id'];
          resolve(this.record({ op, status: res.statusCode ?? 0, code: codeOf(text), text, requestId: typeof id === 'string' ? id : null, what }));
        });
      });
      ws.once('error', (err) => {
        if (!/Unexpected server response/.test(err.message)) reject(err);
      });
    });
  }

  record(s: Seen): Seen {
    this.seen.push(s);
    return s;
  }
}

function codeOf(text: string): string | null {
  try {
    const b = JSON.parse(text) as { code?: unknown };
    return typeof b?.code === 'string' ? b.code : null;
  } catch {
    return null;
  }
}

/** status → the codes documented for it (an empty set for a success status). */
export function documented(spec: any, op: string): Map<number, Set<string>> | null {
  const [method, path] = op.split(' ');
  const operation = spec.paths?.[path]?.[method.toLowerCase()];
  if (!operation) return null;
  const out = new Map<number, Set<string>>();
  for (const [status, r] of Object.entries<any>(operation.responses)) {
    const codes: string[] = r.content?.['application/json']?.schema?.allOf?.[1]?.properties?.code?.enum ?? [];
    out.set(Number(status), new Set(codes));
  }
  return out;
}

/** Every answer that its operation does not document (status, or error code under that status). */
export function undocumented(spec: any, seen: readonly Seen[]): string[] {
  const out: string[] = [];
  for (const s of seen) {
    const doc = documented(spec, s.op);
    const codes = doc?.get(s.status);
    if (!doc) out.push(`${s.op} is not in the document (${s.what})`);
    else if (!codes) out.push(`${s.op} answered ${s.status}, not documented (${s.what}) ${s.text.slice(0, 120)}`);
    else if (s.status >= 400 && !codes.has(s.code ?? '')) out.push(`${s.op} answered ${s.status} ${s.code}, documented: ${[...codes].join(', ')} (${s.what})`);
  }
  return out;
}

/** Error answers whose body is not `{code, message}` from the table with the table's status. */
export function offTable(seen: readonly Seen[]): string[] {
  const out: string[] = [];
  for (const s of seen) {
    if (s.status < 400) continue;
    let body: any;
    try {
      body = JSON.parse(s.text);
    } catch {
      out.push(`${s.what}: ${s.status} body is not JSON`);
      continue;
    }
    const entry = (ERROR_CODES as Record<string, { status: number }>)[body?.code];
    if (!entry || entry.status !== s.status || typeof body.message !== 'string') out.push(`${s.what}: ${s.status} ${s.text.slice(0, 120)}`);
  }
  return out;
}

/** `/hosts/{name}/update` with the given values for its params. */
export function concrete(path: string, values: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? k);
}

/** A query value of the wrong type for a documented query parameter. */
export function wrongValue(schema: any): string {
  const type = schema?.type ?? schema?.anyOf?.find((s: any) => s.type)?.type;
  if (type === 'integer' || type === 'number') return 'not-a-number';
  if (type === 'boolean') return 'maybe';
  if (type === 'array') return wrongValue(schema.items);
  if (schema?.enum || schema?.anyOf) return 'no-such-value';
  return '';
}
