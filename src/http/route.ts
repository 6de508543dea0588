// What a route is: method, path, schemas (which both validate requests and
// build the OpenAPI document), and a handler that gets validated input.
import type { TSchema } from 'typebox';
import type { ErrorCode } from '../../common/errors.js';

export type Method = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';

export interface RequestContext {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  request_id: string;
  user: string | null;
  ip: string;
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
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  responses: Record<number, ResponseSpec>;
  /** Error codes this route can answer with (documented in OpenAPI). */
  errors?: ErrorCode[];
  handler(ctx: RequestContext): Reply | Promise<Reply>;
}

export const ok = (body: unknown, status = 200): Reply => ({ status, body });
