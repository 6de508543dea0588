// The request pipeline: route → auth → rate limit → content type → body
// limit (in uws.ts, while streaming) → JSON parse → schema validation →
// handler → error mapping → one log line. Every failure is a 4xx/5xx JSON
// body from the error table; nothing here can throw past the server.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TendhostError } from '../../common/errors.js';
import { errorResponse, failureResponse } from './error-response.js';
import type { HttpRequest, HttpResponse, Prepared, RequestHandlers } from './uws.js';
import { Router } from './router.js';
import { RawJson, type Reply, type RequestContext, type Route } from './route.js';
import { check, parseQuery } from './validate.js';
import { TokenAuth, extractToken } from './auth.js';
import { RateLimiter } from './rate-limit.js';
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
  onResponse?: (route: string, method: string, status: number, ms: number) => void;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(req: HttpRequest): string {
  const given = req.headers['x-request-id'];
  return given && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

export function createHttpHandlers(opts: AppOptions): RequestHandlers & { router: Router; auth: TokenAuth | null } {
  const router = new Router(opts.routes);
  const auth = opts.auth.enabled ? new TokenAuth(opts.auth.tokens) : null;
  const limiter = opts.rateLimit.enabled ? new RateLimiter(opts.rateLimit.rate_per_s, opts.rateLimit.burst) : null;
  const log = opts.log;
  const logRequests = log.isLevelEnabled('info');
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

  const audit = opts.audit ?? null;
  /** Audit a state-changing request: what it tried, who, from where, and how it ended. */
  const audited = (req: HttpRequest, route: Route, params: Record<string, string>, id: string, user: string | null, res: HttpResponse, jobId: string | null, bodyHost?: string) => {
    if (!audit || route.method === 'GET' || res.status === 429) return;
    let result = 'ok';
    if (res.status >= 400) {
      try {
        result = String((JSON.parse(String(res.body)) as { code?: string }).code ?? res.status);
      } catch {
        result = String(res.status);
      }
    }
    audit.record({
      action: auditAction(route.method, route.path),
      host: params.name ?? bodyHost ?? null,
      user,
      source_ip: req.ip,
      result,
      job_id: jobId ?? params.id ?? null,
      request_id: id,
    });
  };

  const finish = (req: HttpRequest, id: string, t0: number, routePath: string, res: HttpResponse, user: string | null) => {
    const ms = performance.now() - t0;
    if (logRequests) {
      log.info({ req_id: id, method: req.method, path: req.path, status: res.status, ms: Math.round(ms * 1000) / 1000, user }, 'request');
    }
    opts.onResponse?.(routePath, req.method, res.status, ms);
    return res;
  };
  /** finish() for a request that matched a route: audited when it changes state. */
  const done = (req: HttpRequest, p: { route: Route; params: Record<string, string>; id: string; t0: number; user: string | null; bodyHost?: string }, res: HttpResponse, jobId: string | null = null) => {
    audited(req, p.route, p.params, p.id, p.user, res, jobId, p.bodyHost);
    return finish(req, p.id, p.t0, p.route.path, res, p.user);
  };

  return {
    router,
    auth,
    bodyLimit: opts.bodyLimit,
    ipForReads: opts.rateLimit.enabled,

    prepare(req): HttpResponse | Ready {
      const t0 = performance.now();
      const id = requestIdOf(req);
      const m = router.match(req.method, req.path);
      if (m.kind === 'not_found') {
        return finish(req, id, t0, 'unmatched', errorResponse(new TendhostError('ROUTE_NOT_FOUND', `no route for ${req.path}`), id), null);
      }
      if (m.kind === 'method_not_allowed') {
        const err = new TendhostError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path} (allowed: ${m.allow.join(', ')})`);
        return finish(req, id, t0, 'unmatched', errorResponse(err, id, { allow: m.allow.join(', ') }), null);
      }
      const route = m.route;
      let user: string | null = null;
      if (auth && route.auth !== false) {
        user = auth.verify(extractToken(req.headers, new URLSearchParams(req.query)));
        if (!user) {
          return done(req, { route, params: m.params, id, t0, user: null }, errorResponse(new TendhostError('UNAUTHORIZED'), id, {
            'www-authenticate': 'Bearer realm="tendhost"',
          }));
        }
      }
      if (limiter && route.auth !== false) {
        const key = opts.rateLimit.per === 'token' && user ? `t:${user}` : `a:${req.ip}`;
        const wait = limiter.take(key);
        if (wait > 0) {
          return finish(req, id, t0, route.path, errorResponse(new TendhostError('RATE_LIMITED', `rate limit exceeded; retry in ${wait}s`), id, {
            'retry-after': String(wait),
          }), user);
        }
      }
      if (route.body) {
        const ct = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        const length = Number(req.headers['content-length'] ?? '0');
        const mayHaveBody = length > 0 || req.headers['transfer-encoding'] !== undefined;
        if (mayHaveBody && ct !== 'application/json') {
          return done(req, { route, params: m.params, id, t0, user }, errorResponse(new TendhostError('UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got "${ct || 'none'}"`), id, { connection: 'close' }));
        }
        if (length > opts.bodyLimit) {
          return done(req, { route, params: m.params, id, t0, user }, errorResponse(new TendhostError('PAYLOAD_TOO_LARGE', `request body exceeds ${opts.bodyLimit} bytes`), id, { connection: 'close' }));
        }
      }
      return { prepared: true, route, params: m.params, user, id, t0 };
    },

    handle(req, prepared) {
      const p = prepared as Ready;
      const { route, id, t0, user } = p;
      try {
        const ctx = buildContext(req, route, p.params, id, user);
        const named = (ctx.body as { name?: unknown } | undefined)?.name;
        if (typeof named === 'string') p.bodyHost = named;
        const out = route.handler(ctx);
        if (out instanceof Promise) {
          return out.then(
            (r) => done(req, p, toResponse(r, id), jobIdOf(r)),
            (err) => done(req, p, failureResponse(err, id, log)),
          );
        }
        return done(req, p, toResponse(out, id), jobIdOf(out));
      } catch (err) {
        return done(req, p, failureResponse(err, id, log));
      }
    },

    tooLarge(req, prepared) {
      const err = new TendhostError('PAYLOAD_TOO_LARGE', `request body exceeds ${opts.bodyLimit} bytes`);
      return done(req, prepared as Ready, errorResponse(err, (prepared as Ready).id, { connection: 'close' }));
    },

    failed(req, prepared, err) {
      const p = prepared as Ready;
      const res = failureResponse(err, p.id, log);
      try {
        return done(req, p, res);
      } catch (again) {
        // The last resort must answer: the audit or metrics hook failing too is logged, not thrown.
        log.error({ req_id: p.id, err: (again as Error).message }, 'answering a failed request failed');
        return res;
      }
    },

    onAborted(req) {
      log.debug({ method: req.method, path: req.path }, 'client went away before the answer');
    },
  };
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

