// What a route is: method, path, schemas (which both validate requests and
// build the OpenAPI document), and a handler that gets validated input.
import type { Static, TSchema } from 'typebox';
import type { ErrorCode } from '../../common/errors.js';

export type Method = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';

/**
 * Codes the request pipeline answers before or around a handler (app.ts,
 * uws.ts): routing, auth, rate limit, media type, size, JSON, schema checks,
 * and INTERNAL for anything unexpected. No route lists them itself.
 */
export const PIPELINE_CODES = [
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'UNAUTHORIZED',
  'RATE_LIMITED',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'INVALID_JSON',
  'VALIDATION_FAILED',
  'INTERNAL',
] as const satisfies readonly ErrorCode[];

/** A code a handler may declare: any but the pipeline's. */
export type DomainErrorCode = Exclude<ErrorCode, (typeof PIPELINE_CODES)[number]>;

export interface RequestContext {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  request_id: string;
  user: string | null;
  ip: string;
  /** The pipeline's headers and the route's own `headers`, when the request carried them. */
  headers: Record<string, string>;
}

/** A body already serialized (cached host JSON): sent as is. */
export class RawJson {
  constructor(readonly text: string | Buffer) {}
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Content type other than JSON (the docs page, its script). */
  contentType?: string;
}

export interface ResponseSpec {
  description: string;
  schema?: TSchema;
  contentType?: string;
}

export interface Route {
  method: Method;
  path: string;
  summary: string;
  tag: string;
  /** false only for routes that must stay public (health, probes). */
  auth?: boolean;
  /** Request headers the handler reads besides the pipeline's (request-headers.ts), lower-case. */
  headers?: readonly string[];
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  responses: Record<number, ResponseSpec>;
  /**
   * The route's own error codes (documented in OpenAPI). The ones the request
   * pipeline answers are added from the route's shape (route-errors.ts).
   */
  errors?: DomainErrorCode[];
  /** On a cluster node the route's work runs on the host's owner (CLUSTER_UNAVAILABLE, PARTITION_UNOWNED). */
  forwarded?: boolean;
  /** On a cluster node the route reads or writes the shared state in NATS (CLUSTER_UNAVAILABLE while it is away). */
  clustered?: boolean;
  handler(ctx: RequestContext): Reply | Promise<Reply>;
}

export const ok = (body: unknown, status = 200): Reply => ({ status, body });

/** A schema's type, or `Absent` when the route has no such schema. */
type Input<S, Absent> = S extends TSchema ? Static<S> : Absent;

/** What a handler of `defineRoute` gets: params, query and body typed by the route's schemas. */
export interface TypedRequest<P, Q, B> extends Omit<RequestContext, 'params' | 'query' | 'body'> {
  params: Input<P, Record<string, never>>;
  query: Input<Q, Record<string, never>>;
  body: Input<B, undefined>;
}

export interface RouteDefinition<P, Q, B> extends Omit<Route, 'params' | 'query' | 'body' | 'handler'> {
  params?: P;
  query?: Q;
  body?: B;
  handler(r: TypedRequest<P, Q, B>): Reply | Promise<Reply>;
}

/**
 * A route whose handler sees its input typed from the same schemas that
 * check it: app.ts validates params, query and body against them before the
 * handler runs, so the handler needs no casts. This is the one place the
 * types are widened back to the table's plain `Route`.
 */
export function defineRoute<P extends TSchema | undefined = undefined, Q extends TSchema | undefined = undefined, B extends TSchema | undefined = undefined>(
  def: RouteDefinition<P, Q, B>,
): Route {
  return def as unknown as Route;
}
