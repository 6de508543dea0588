// The request pipeline: route → auth → rate limit → content type → body
// limit (in uws.ts, while streaming) → JSON parse → schema validation →
// handler → error mapping → one log line. Every failure is a 4xx/5xx JSON
// body from the error table; nothing here can throw past the server.
import type { Logger } from 'pino';
import { TendhostError } from '../../common/errors.js';
import { errorResponse, failureResponse } from './error-response.js';
import type { HttpRequest, HttpResponse, Prepared, RequestHandlers } from './uws.js';
import { Router } from './router.js';
import { RawJson, type Reply, type RequestContext, type Route } from './route.js';
import { check, parseQuery } from './validate.js';
import { newRequestId } from './request-id.js';
import { TokenAuth, extractToken } from './auth.js';
import { RateLimiter } from './rate-limit.js';
import { requestHeaderLists, type RequestHeaderLists } from './request-headers.js';
import type { AuditRecorder } from '../audit/actor-audit.js';
import { auditAction } from '../audit/actions.js';

export interface AppOptions {
  routes: Route[];
  log: Logger;
  bodyLimit: number;
  auth: { enabled: boolean; tokens: Array<{ name: string; token_hash: string }> };
  rateLimit: { enabled: boolean; per: 'token' | 'address'; rate_per_s: number; burst: number };
  /** Every state-changing request (any method but GET) becomes one audit line. */
  audit?: AuditRecorder | null;
  /** Called after every answered request (metrics). */
  onResponse?: (route: string, method: string, status: number) => void;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(req: HttpRequest): string {
  const given = req.headers['x-request-id'];
  return given && SANE_REQUEST_ID.test(given) ? given : newRequestId();
}

/** What prepare() found, handed back to handle(). */
interface Ready extends Prepared {
  route: Route;
  params: Record<string, string>;
  user: string | null;
  id: string;
  t0: number;
  /** The host a request names in its body (POST /hosts), for the audit line. */
  bodyHost?: string;
}

/** A request the router placed, as far as prepare() got with it. */
type Matched = Pick<Ready, 'route' | 'params' | 'id' | 't0' | 'user' | 'bodyHost'>;

export function createHttpHandlers(opts: AppOptions): HttpPipeline {
  return new HttpPipeline(opts);
}

/** The pipeline behind every HTTP request; uws.ts calls prepare() at once, handle() once the body is in. */
export class HttpPipeline implements RequestHandlers {
  readonly router: Router;
  readonly auth: TokenAuth | null;
  readonly bodyLimit: number;
  readonly requestHeaders: RequestHeaderLists;
  /** Rate limiting per address needs the client address on reads too. */
  readonly ipForReads: boolean;
  readonly #limiter: RateLimiter | null;
  readonly #log: Logger;
  readonly #logRequests: boolean;

  constructor(private readonly opts: AppOptions) {
    this.router = new Router(opts.routes);
    this.auth = opts.auth.enabled ? new TokenAuth(opts.auth.tokens) : null;
    this.#limiter = opts.rateLimit.enabled ? new RateLimiter(opts.rateLimit.rate_per_s, opts.rateLimit.burst) : null;
    this.bodyLimit = opts.bodyLimit;
    // Authorization is read only while tokens are checked: nothing else looks at it.
    this.requestHeaders = requestHeaderLists(this.auth !== null);
    this.ipForReads = opts.rateLimit.enabled;
    this.#log = opts.log;
    this.#logRequests = opts.log.isLevelEnabled('info');
  }

  prepare(req: HttpRequest): HttpResponse | Ready {
    // The clock is read only for the request log line (two calls per request otherwise wasted).
    const t0 = this.#logRequests ? performance.now() : 0;
    const id = requestIdOf(req);
    const m = this.router.match(req.method, req.path);
    if (m.kind === 'not_found') {
      return this.#finish(req, id, t0, 'unmatched', errorResponse(new TendhostError('ROUTE_NOT_FOUND', `no route for ${req.path}`), id), null);
    }
    if (m.kind === 'method_not_allowed') {
      const err = new TendhostError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path} (allowed: ${m.allow.join(', ')})`);
      return this.#finish(req, id, t0, 'unmatched', errorResponse(err, id, { allow: m.allow.join(', ') }), null);
    }
    const route = m.route;
    let user: string | null = null;
    if (this.auth && route.auth !== false) {
      user = this.auth.verify(extractToken(req.headers, new URLSearchParams(req.query)));
      if (!user) {
        const refused = errorResponse(new TendhostError('UNAUTHORIZED'), id, { 'www-authenticate': 'Bearer realm="tendhost"' });
        return this.#done(req, { route, params: m.params, id, t0, user: null }, refused);
      }
    }
    const limited = this.#rateLimited(req, route, user, id);
    if (limited) return this.#finish(req, id, t0, route.path, limited, user);
    const refused = route.body ? this.#refuseBody(req, id) : null;
    if (refused) return this.#done(req, { route, params: m.params, id, t0, user }, refused);
    return { prepared: true, headers: route.headers, route, params: m.params, user, id, t0 };
  }

  handle(req: HttpRequest, prepared: Prepared): HttpResponse | Promise<HttpResponse> {
    const p = prepared as Ready;
    try {
      const ctx = buildContext(req, p.route, p.params, p.id, p.user);
      const named = (ctx.body as { name?: unknown } | undefined)?.name;
      if (typeof named === 'string') p.bodyHost = named;
      const out = p.route.handler(ctx);
      if (out instanceof Promise) {
        return out.then(
          (r) => this.#done(req, p, toResponse(r, p.id), jobIdOf(r)),
          (err) => this.#done(req, p, failureResponse(err, p.id, this.#log)),
        );
      }
      return this.#done(req, p, toResponse(out, p.id), jobIdOf(out));
    } catch (err) {
      return this.#done(req, p, failureResponse(err, p.id, this.#log));
    }
  }

  tooLarge(req: HttpRequest, prepared: Prepared): HttpResponse {
    const err = new TendhostError('PAYLOAD_TOO_LARGE', `request body exceeds ${this.bodyLimit} bytes`);
    return this.#done(req, prepared as Ready, errorResponse(err, (prepared as Ready).id, { connection: 'close' }));
  }

  failed(req: HttpRequest, prepared: Prepared, err: unknown): HttpResponse {
    const p = prepared as Ready;
    const res = failureResponse(err, p.id, this.#log);
    try {
      return this.#done(req, p, res);
    } catch (again) {
      // The last resort must answer: the audit or metrics hook failing too is logged, not thrown.
      this.#log.error({ req_id: p.id, err: (again as Error).message }, 'answering a failed request failed');
      return res;
    }
  }

  onAborted(req: HttpRequest): void {
    this.#log.debug({ method: req.method, path: req.path }, 'client went away before the answer');
  }

  /** The 429 to send, or null when the request may go on. */
  #rateLimited(req: HttpRequest, route: Route, user: string | null, id: string): HttpResponse | null {
    if (!this.#limiter || route.auth === false) return null;
    const key = this.opts.rateLimit.per === 'token' && user ? `t:${user}` : `a:${req.ip}`;
    const wait = this.#limiter.take(key);
    if (wait <= 0) return null;
    return errorResponse(new TendhostError('RATE_LIMITED', `rate limit exceeded; retry in ${wait}s`), id, { 'retry-after': String(wait) });
  }

  /** A body refused before it is read (wrong media type, declared too large), or null. */
  #refuseBody(req: HttpRequest, id: string): HttpResponse | null {
    const ct = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const length = Number(req.headers['content-length'] ?? '0');
    const mayHaveBody = length > 0 || req.headers['transfer-encoding'] !== undefined;
    if (mayHaveBody && ct !== 'application/json') {
      return errorResponse(new TendhostError('UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got "${ct || 'none'}"`), id, { connection: 'close' });
    }
    if (length > this.bodyLimit) {
      return errorResponse(new TendhostError('PAYLOAD_TOO_LARGE', `request body exceeds ${this.bodyLimit} bytes`), id, { connection: 'close' });
    }
    return null;
  }

  /** #finish() for a request that matched a route: audited when it changes state. */
  #done(req: HttpRequest, p: Matched, res: HttpResponse, jobId: string | null = null): HttpResponse {
    this.#audit(req, p, res, jobId);
    return this.#finish(req, p.id, p.t0, p.route.path, res, p.user);
  }

  #finish(req: HttpRequest, id: string, t0: number, routePath: string, res: HttpResponse, user: string | null): HttpResponse {
    if (this.#logRequests) {
      const ms = performance.now() - t0;
      this.#log.info({ req_id: id, method: req.method, path: req.path, status: res.status, ms: Math.round(ms * 1000) / 1000, user }, 'request');
    }
    this.opts.onResponse?.(routePath, req.method, res.status);
    return res;
  }

  /** Audit a state-changing request: what it tried, who, from where, and how it ended. */
  #audit(req: HttpRequest, p: Matched, res: HttpResponse, jobId: string | null): void {
    const audit = this.opts.audit;
    if (!audit || p.route.method === 'GET' || res.status === 429) return;
    let result = 'ok';
    if (res.status >= 400) {
      try {
        result = String((JSON.parse(String(res.body)) as { code?: string }).code ?? res.status);
      } catch {
        result = String(res.status);
      }
    }
    audit.record({
      action: auditAction(p.route.method, p.route.path),
      host: p.params.name ?? p.bodyHost ?? null,
      user: p.user,
      source_ip: req.ip,
      result,
      job_id: jobId ?? p.params.id ?? null,
      request_id: p.id,
    });
  }
}

function buildContext(req: HttpRequest, route: Route, params: Record<string, string>, id: string, user: string | null): RequestContext {
  if (route.params) check(route.params, params, 'path');
  const query = parseQuery(req.query, route.query);
  if (route.query) check(route.query, query, 'query');
  let body: unknown;
  if (route.body) {
    if (req.body && req.body.length > 0) {
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch (err) {
        throw new TendhostError('INVALID_JSON', `request body is not valid JSON: ${(err as Error).message}`);
      }
    } else body = {};
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new TendhostError('VALIDATION_FAILED', `request body must be a JSON object, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`, { field: 'body', in: 'body' });
    }
    check(route.body, body, 'body');
  }
  return {
    params,
    query,
    body,
    request_id: id,
    user,
    ip: req.ip,
    headers: req.headers,
  };
}

function jobIdOf(r: Reply): string | null {
  const id = (r.body as { job_id?: unknown } | null | undefined)?.job_id;
  return typeof id === 'string' ? id : null;
}

function toResponse(r: Reply, id: string): HttpResponse {
  let headers = r.headers;
  if (r.contentType) headers = { ...headers, 'content-type': r.contentType };
  let body: string | Buffer = '';
  if (r.body instanceof RawJson) body = r.body.text;
  else if (typeof r.body === 'string' && r.contentType) body = r.body;
  else if (Buffer.isBuffer(r.body)) body = r.body; // prepared bytes (dashboard assets, gzip)
  else if (r.body !== undefined) body = JSON.stringify(r.body);
  return { status: r.status, body, headers, requestId: id };
}

