// The route table: every route the daemon answers, in one list. The same
// list drives the router and the OpenAPI document.
import type { DaemonContext } from '../context.js';
import type { Route } from './route.js';
import { hostRoutes } from './handlers/hosts.js';
import { jobRoutes } from './handlers/jobs.js';
import { groupRoutes } from './handlers/groups.js';
import { systemRoutes } from './handlers/system.js';

export function buildRoutes(ctx: DaemonContext): Route[] {
  return [...systemRoutes(ctx), ...hostRoutes(ctx), ...groupRoutes(ctx), ...jobRoutes(ctx)];
}
