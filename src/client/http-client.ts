// The typed REST client: one method per route, request and response types
// from the daemon's schemas, every failure a TendhostApiError. It runs on any
// `fetch` (Node's own, a browser's, or one given for a custom CA).
import { TendhostApiError, errorFromResponse } from './errors.js';
import { FleetStream, type FleetStreamOptions } from './fleet-stream.js';
import type {
  FleetUpdateRequest,
  GroupList,
  Health,
  HostList,
  HostListQuery,
  HostStatus,
  Inventory,
  Job,
  JobAccepted,
  JobHostList,
  JobHostResult,
  JobHostsQuery,
  JobList,
  JobListQuery,
  RegisterHostRequest,
  TagList,
} from './types.js';

export interface ClientOptions {
  /** The daemon's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  token?: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

export class TendhostClient {
  readonly url: string;
  readonly token: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  health(): Promise<Health> {
    return this.#call('GET', '/health');
  }

  listHosts(q: HostListQuery = {}): Promise<HostList> {
    return this.#call('GET', '/hosts', { query: q });
  }

  getHost(name: string): Promise<HostStatus> {
    return this.#call('GET', `/hosts/${enc(name)}`);
  }

  registerHost(body: RegisterHostRequest): Promise<HostStatus> {
    return this.#call('POST', '/hosts', { body });
  }

  async removeHost(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.#call('DELETE', `/hosts/${enc(name)}`, { query: opts.force ? { force: true } : {} });
  }

  update(name: string, opts: { dry_run?: boolean } = {}): Promise<JobAccepted> {
    return this.#call('POST', `/hosts/${enc(name)}/update`, { body: opts.dry_run ? { dry_run: true } : {} });
  }

  reboot(name: string): Promise<JobAccepted> {
    return this.#call('POST', `/hosts/${enc(name)}/reboot`, { body: {} });
  }

  retry(name: string): Promise<JobAccepted> {
    return this.#call('POST', `/hosts/${enc(name)}/retry`, { body: {} });
  }

  acknowledge(name: string): Promise<JobAccepted> {
    return this.#call('POST', `/hosts/${enc(name)}/acknowledge`, { body: {} });
  }

  acceptHostKey(name: string): Promise<HostStatus> {
    return this.#call('POST', `/hosts/${enc(name)}/host-key/accept`, { body: {} });
  }

  inventory(name: string, opts: { refresh?: boolean } = {}): Promise<Inventory> {
    return this.#call('GET', `/hosts/${enc(name)}/inventory`, { query: opts.refresh ? { refresh: true } : {} });
  }

  fleetUpdate(body: FleetUpdateRequest): Promise<JobAccepted> {
    return this.#call('POST', '/fleet/update', { body });
  }

  listJobs(q: JobListQuery = {}): Promise<JobList> {
    return this.#call('GET', '/jobs', { query: q });
  }

  getJob(id: string): Promise<Job> {
    return this.#call('GET', `/jobs/${enc(id)}`);
  }

  /** One page of the job's per-host results, optionally of one result state. */
  jobHosts(id: string, q: JobHostsQuery = {}): Promise<JobHostList> {
    return this.#call('GET', `/jobs/${enc(id)}/hosts`, { query: q });
  }

  /** Every per-host result of the job (of one state, if given), page by page. */
  async *allJobHosts(id: string, q: { state?: JobHostsQuery['state'] } = {}): AsyncGenerator<JobHostResult> {
    for (let page = 1; ; page++) {
      const r = await this.jobHosts(id, { ...q, page, per_page: 200 });
      yield* r.data;
      if (page >= r.pagination.total_pages) return;
    }
  }

  cancelJob(id: string): Promise<Job> {
    return this.#call('POST', `/jobs/${enc(id)}/cancel`, { body: {} });
  }

  listGroups(): Promise<GroupList> {
    return this.#call('GET', '/groups');
  }

  getGroup(name: string, paging: { page?: number; per_page?: number } = {}): Promise<HostList> {
    return this.#call('GET', `/groups/${enc(name)}`, { query: paging });
  }

  listTags(): Promise<TagList> {
    return this.#call('GET', '/tags');
  }

  /** The live stream on the same daemon and token (browser WebSocket unless `openSocket` is given). */
  stream(opts: Omit<FleetStreamOptions, 'url' | 'token'> = {}): FleetStream {
    return new FleetStream({ ...opts, url: this.url, token: this.token });
  }

  async #call<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    let res: Response;
    try {
      res = await this.#fetch(this.url + path + queryString(opts.query), {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: controller.signal,
      });
    } catch (err) {
      clearTimeout(timer);
      if (controller.signal.aborted) throw new TendhostApiError(0, 'TIMEOUT', `${method} ${path}: no answer from ${this.url} within ${this.#timeoutMs} ms`);
      throw new TendhostApiError(0, 'UNREACHABLE', `cannot reach ${this.url}: ${describe(err)}`);
    }
    try {
      const requestId = res.headers.get('x-request-id');
      const text = await res.text();
      const body = text ? parseJson(text) : undefined;
      if (!res.ok) throw errorFromResponse(res.status, body, requestId);
      if (text && body === undefined) throw new TendhostApiError(res.status, 'BAD_RESPONSE', `${method} ${path}: the answer is not JSON`, requestId);
      return body as T;
    } catch (err) {
      if (err instanceof TendhostApiError) throw err;
      if (controller.signal.aborted) throw new TendhostApiError(0, 'TIMEOUT', `${method} ${path}: answer not complete within ${this.#timeoutMs} ms`);
      throw new TendhostApiError(0, 'UNREACHABLE', `${method} ${path}: connection lost: ${describe(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch hides the real reason (ECONNREFUSED, a bad certificate) in `cause`. */
function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message ?? 'fetch failed'} (${cause})` : (e?.message ?? String(err));
}
