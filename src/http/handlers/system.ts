// /health: public, cheap, and honest about whether uWS runs natively.
import { Type } from 'typebox';
import type { DaemonContext } from '../../context.js';
import { ok, type Route } from '../route.js';

export const Health = Type.Object(
  {
    status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded')]),
    version: Type.String(),
    uptime_s: Type.Number(),
    workers: Type.Integer(),
    hosts: Type.Integer(),
    uws: Type.Union([Type.Literal('native'), Type.Literal('fallback')]),
  },
  { title: 'Health' },
);

export function systemRoutes(ctx: DaemonContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/health',
      summary: 'Liveness and basic facts (public)',
      tag: 'system',
      auth: false,
      responses: { 200: { description: 'Daemon health', schema: Health } },
      handler() {
        return ok({
          // Serving on the pure-JS uWS fallback works but is far slower: say so.
          status: ctx.uwsMode === 'native' ? 'healthy' : 'degraded',
          version: ctx.version,
          uptime_s: Math.round((Date.now() - ctx.startedAt) / 100) / 10,
          workers: ctx.pool.size,
          hosts: ctx.model.size,
          uws: ctx.uwsMode,
        });
      },
    },
  ];
}
