// /hosts: reads come from the read model (cached JSON); actions go to the
// host's shard and answer 202 {job_id} at once.
import { Type } from 'typebox';
import { TendhostError } from '../../../common/errors.js';
import type { DaemonContext } from '../../context.js';
import { HostStatus } from '../../../common/schemas/host.js';
import { Inventory } from '../../../common/schemas/inventory.js';
import {
  DeleteHostQuery,
  EmptyBody,
  HostListQuery,
  HostNameParams,
  InventoryQuery,
  JobAccepted,
  Pagination,
  RegisterHostRequest,
  UpdateRequest,
} from '../../../common/schemas/requests.js';
import { RawJson, ok, type DomainErrorCode, type RequestContext, type Route } from '../route.js';
import { COMMAND_ERRORS, type HostCommand } from '../../../common/thread-protocol.js';
import type { JobKind } from '../../../common/schemas/job.js';
import { resolveHost } from '../../config/load.js';

export const HostList = Type.Object({ data: Type.Array(HostStatus), pagination: Pagination }, { title: 'HostList' });


function action(ctx: DaemonContext, kind: JobKind, command: (r: RequestContext) => HostCommand) {
  return async (r: RequestContext) => {
    const job = await ctx.actions.start({
      host: r.params.name,
      command: command(r),
      kind,
      request_id: r.request_id,
      user: r.user,
      dry_run: kind === 'update' ? Boolean((r.body as { dry_run?: boolean }).dry_run) : undefined,
    });
    return ok({ job_id: job.id }, 202);
  };
}

/** A command's refusals, and its worker being replaced at that moment. */
const sentToWorker = (kind: HostCommand['kind']): DomainErrorCode[] => [...COMMAND_ERRORS[kind], 'WORKER_UNAVAILABLE'];

const accepted = { 202: { description: 'Accepted; the job runs on', schema: JobAccepted } };

export function hostRoutes(ctx: DaemonContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/hosts',
      summary: 'List hosts (paginated, filterable)',
      tag: 'hosts',
      query: HostListQuery,
      responses: { 200: { description: 'A page of hosts', schema: HostList } },
      handler(r) {
        const q = r.query as { page?: number; per_page?: number; tag?: string[]; state?: never; group?: string; search?: string };
        const page = q.page ?? 1;
        const perPage = q.per_page ?? 50;
        return ok(new RawJson(ctx.model.listBody({ page, per_page: perPage, tags: q.tag, state: q.state, group: q.group, search: q.search })));
      },
    },
    {
      method: 'GET',
      path: '/hosts/:name',
      summary: "One host's status",
      tag: 'hosts',
      params: HostNameParams,
      responses: { 200: { description: 'The host', schema: HostStatus } },
      errors: ['HOST_NOT_FOUND'],
      handler(r) {
        const json = ctx.model.json(r.params.name);
        if (json === undefined) throw new TendhostError('HOST_NOT_FOUND', `host ${r.params.name} not found`);
        return ok(new RawJson(json));
      },
    },
    {
      method: 'POST',
      path: '/hosts',
      summary: 'Register a host (gets an actor on its shard at once)',
      tag: 'hosts',
      body: RegisterHostRequest,
      responses: { 201: { description: 'Registered', schema: HostStatus } },
      errors: ['HOST_EXISTS'],
      async handler(r) {
        const body = r.body as RegisterHostRequest;
        if (ctx.hostConfigs.has(body.name) || ctx.model.has(body.name)) {
          throw new TendhostError('HOST_EXISTS', `host ${body.name} already exists`);
        }
        const host = resolveHost(body, ctx.defaults);
        ctx.hostConfigs.set(host.name, host);
        try {
          const reply = await ctx.pool.run({ kind: 'add_host', shard: ctx.pool.shardOf(host.name), host, groups: [] });
          // Visible to the very next GET, not only once the shard's port delivers it.
          if (reply.kind === 'added' && !ctx.model.has(host.name)) ctx.broadcaster.applyStatus(reply.status);
        } catch (err) {
          ctx.hostConfigs.delete(host.name);
          throw err;
        }
        ctx.registered.add(host.name);
        ctx.store.register(host);
        ctx.log.info({ host: host.name, user: r.user, req_id: r.request_id }, 'host registered');
        return ok(new RawJson(ctx.model.json(host.name) ?? 'null'), 201);
      },
    },
    {
      method: 'DELETE',
      path: '/hosts/:name',
      summary: 'Remove a host (409 while busy unless force)',
      tag: 'hosts',
      params: HostNameParams,
      query: DeleteHostQuery,
      responses: { 204: { description: 'Removed' } },
      errors: ['HOST_NOT_FOUND', 'HOST_BUSY'],
      async handler(r) {
        const name = r.params.name;
        if (!ctx.model.has(name)) throw new TendhostError('HOST_NOT_FOUND', `host ${name} not found`);
        const reply = await ctx.pool.run({
          kind: 'remove_host',
          shard: ctx.pool.shardOf(name),
          name,
          force: Boolean((r.query as { force?: boolean }).force),
        });
        if (reply.kind === 'command' && !reply.reply.ok) {
          throw new TendhostError(reply.reply.error.code, reply.reply.error.message);
        }
        ctx.broadcaster.removeHost(name);
        ctx.hostConfigs.delete(name);
        ctx.registered.delete(name);
        ctx.store.unregister(name);
        for (const members of Object.values(ctx.groups)) {
          const i = members.indexOf(name);
          if (i >= 0) members.splice(i, 1);
        }
        ctx.log.info({ host: name, user: r.user, req_id: r.request_id }, 'host removed');
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/hosts/:name/update',
      summary: 'Query and update a host (dry_run simulates)',
      tag: 'actions',
      params: HostNameParams,
      body: UpdateRequest,
      responses: accepted,
      errors: sentToWorker('update'),
      handler: action(ctx, 'update', (r) => ({ kind: 'update', dry_run: Boolean((r.body as { dry_run?: boolean }).dry_run) })),
    },
    {
      method: 'POST',
      path: '/hosts/:name/reboot',
      summary: 'Reboot a host waiting for a reboot, then verify it',
      tag: 'actions',
      params: HostNameParams,
      body: EmptyBody,
      responses: accepted,
      errors: sentToWorker('reboot'),
      handler: action(ctx, 'reboot', () => ({ kind: 'reboot' })),
    },
    {
      method: 'POST',
      path: '/hosts/:name/retry',
      summary: 'Leave the failed state (back to idle)',
      tag: 'actions',
      params: HostNameParams,
      body: EmptyBody,
      responses: accepted,
      errors: sentToWorker('retry'),
      handler: action(ctx, 'retry', () => ({ kind: 'retry' })),
    },
    {
      method: 'POST',
      path: '/hosts/:name/acknowledge',
      summary: 'Acknowledge a failure (stays failed)',
      tag: 'actions',
      params: HostNameParams,
      body: EmptyBody,
      responses: accepted,
      errors: sentToWorker('acknowledge'),
      handler: action(ctx, 'acknowledge', () => ({ kind: 'acknowledge' })),
    },
    {
      method: 'POST',
      path: '/hosts/:name/host-key/accept',
      summary: "Accept a host's changed SSH host key (lifts the quarantine)",
      tag: 'actions',
      params: HostNameParams,
      body: EmptyBody,
      responses: { 200: { description: 'Accepted', schema: HostStatus } },
      errors: sentToWorker('accept_host_key'),
      async handler(r) {
        await ctx.actions.ask(r.params.name, { kind: 'accept_host_key' }, { job_id: null, request_id: r.request_id, user: r.user });
        return ok(new RawJson(ctx.model.json(r.params.name) ?? 'null'));
      },
    },
    {
      method: 'GET',
      path: '/hosts/:name/inventory',
      summary: "What the host is: system, hardware, packages, containers",
      tag: 'hosts',
      params: HostNameParams,
      query: InventoryQuery,
      responses: { 200: { description: 'Inventory (cached with a TTL)', schema: Inventory } },
      errors: sentToWorker('inventory'),
      async handler(r) {
        const refresh = Boolean((r.query as { refresh?: boolean }).refresh);
        const data = await ctx.actions.ask(r.params.name, { kind: 'inventory', refresh }, { job_id: null, request_id: r.request_id, user: r.user });
        return ok(data);
      },
    },
  ];
}

