// The route table: every route the daemon answers, in one list. The same
// list drives the router and the OpenAPI document. Each group of routes gets
// only the parts of the daemon it uses.
import type { Route } from './route.js';
import { hostRoutes, type HostRouteDeps } from './handlers/hosts.js';
import { jobRoutes } from './handlers/jobs.js';
import { groupRoutes, type GroupRouteDeps } from './handlers/groups.js';
import { systemRoutes, type SystemRouteDeps } from './handlers/system.js';
import { docsRoutes } from './handlers/docs.js';
import { fleetRoutes } from './handlers/fleet.js';
import { dashboardRoutes } from './handlers/dashboard.js';
import { buildOpenApi } from '../openapi.js';
import type { PipelineSettings } from './route-errors.js';

export interface RouteDeps {
  system: SystemRouteDeps;
  hosts: HostRouteDeps;
  groups: GroupRouteDeps;
  fleet: Parameters<typeof fleetRoutes>[0];
  jobs: Parameters<typeof jobRoutes>[0];
  /** For the OpenAPI document: is auth on, is rate limiting on (the codes routes can answer). */
  pipeline: PipelineSettings;
}

export function buildRoutes(d: RouteDeps): Route[] {
  const routes: Route[] = [
    ...systemRoutes(d.system),
    ...hostRoutes(d.hosts),
    ...groupRoutes(d.groups),
    ...fleetRoutes(d.fleet),
    ...jobRoutes(d.jobs),
    ...dashboardRoutes(),
  ];
  // The document describes every route, including its own and the docs page.
  routes.push(...docsRoutes(() => buildOpenApi(routes, d.system.version, d.pipeline)));
  return routes;
}
