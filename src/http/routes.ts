// The route table: every route the daemon answers, in one list. The same
// list drives the router and the OpenAPI document.
import type { DaemonContext } from '../context.js';
import type { Route } from './route.js';
import { hostRoutes } from './handlers/hosts.js';
import { jobRoutes } from './handlers/jobs.js';
import { groupRoutes } from './handlers/groups.js';
import { systemRoutes } from './handlers/system.js';
import { docsRoutes } from './handlers/docs.js';
import { fleetRoutes } from './handlers/fleet.js';
import { dashboardRoutes } from './handlers/dashboard.js';
import { buildOpenApi } from '../openapi.js';

export function buildRoutes(ctx: DaemonContext): Route[] {
  const routes: Route[] = [...systemRoutes(ctx), ...hostRoutes(ctx), ...groupRoutes(ctx), ...fleetRoutes(ctx), ...jobRoutes(ctx), ...dashboardRoutes()];
  // The document describes every route, including its own and the docs page.
  const pipeline = () => ({ auth: ctx.config.daemon.auth.enabled, rateLimit: ctx.config.daemon.rate_limit.enabled });
  routes.push(...docsRoutes(() => buildOpenApi(routes, ctx.version, pipeline())));
  return routes;
}
