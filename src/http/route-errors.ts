// Which error codes a route can answer: its own (Route.errors) plus the ones
// the request pipeline adds for its shape. Each rule below mirrors a step of
// app.ts / uws.ts, so the OpenAPI document lists what the server really does.
import { ERROR_CODES, type ErrorCode } from '../../common/errors.js';
import type { Route } from './route.js';

export interface PipelineSettings {
  /** [daemon.auth] enabled: routes that are not public answer UNAUTHORIZED. */
  auth: boolean;
  /** [daemon.rate_limit] enabled: routes that are not public answer RATE_LIMITED. */
  rateLimit: boolean;
  /** [cluster] enabled: routes that reach a host's owner answer CLUSTER_UNAVAILABLE and PARTITION_UNOWNED, routes on the shared jobs CLUSTER_UNAVAILABLE. */
  cluster?: boolean;
}

export function routeErrorCodes(route: Route, s: PipelineSettings): ErrorCode[] {
  const codes: ErrorCode[] = [...(route.errors ?? [])];
  const guarded = route.auth !== false;
  if (s.auth && guarded) codes.push('UNAUTHORIZED');
  if (s.rateLimit && guarded) codes.push('RATE_LIMITED');
  if (s.cluster && route.forwarded) codes.push('CLUSTER_UNAVAILABLE', 'PARTITION_UNOWNED', 'CLUSTER_ANSWER_TOO_LARGE');
  if (s.cluster && route.clustered) codes.push('CLUSTER_UNAVAILABLE');
  if (route.body) codes.push('UNSUPPORTED_MEDIA_TYPE', 'INVALID_JSON', 'VALIDATION_FAILED');
  // Any request but GET/HEAD may carry a body; its size is counted while it streams in.
  if (route.method !== 'GET') codes.push('PAYLOAD_TOO_LARGE');
  if (route.params || route.query) codes.push('VALIDATION_FAILED');
  codes.push('INTERNAL');
  return [...new Set(codes)].sort((a, b) => ERROR_CODES[a].status - ERROR_CODES[b].status || a.localeCompare(b));
}
