// /hosts: reads come from the read model (cached JSON); actions go to the
// host's shard and answer 202 {job_id} at once.
import { Type } from 'typebox';
import { TendhostError } from '../../../common/errors.js';
import type { Logger } from 'pino';
import type { HostRegistry } from '../../app/host-registry.js';
import type { HostActions } from '../../app/host-actions.js';
import type { ReadModel } from '../../state/read-model.js';
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

export const HostList = Type.Object({ data: Type.Array(HostStatus), pagination: Pagination }, { title: 'HostList' });


export interface HostRouteDeps {
  /** Reads: the read model's cached JSON. */
  hosts: Pick<ReadModel, 'json' | 'listBody' | 'has'>;
  registry: Pick<HostRegistry, 'register' | 'remove'>;
  actions: Pick<HostActions, 'start' | 'ask'>;
  log: Logger;
}

function action(actions: HostRouteDeps['actions'], kind: JobKind, command: (r: RequestContext) => HostCommand) {
  return async (r: RequestContext) => {
    const job = await actions.start({
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

export function hostRoutes({ hosts, registry, actions, log }: HostRouteDeps): Route[] {
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
        return ok(new RawJson(hosts.listBody({ page, per_page: perPage, tags: q.tag, state: q.state, group: q.group, search: q.search })));
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
        const json = hosts.json(r.params.name);
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
        await registry.register(body, (name) => hosts.has(name));
        log.info({ host: body.name, user: r.user, req_id: r.request_id }, 'host registered');
        return ok(new RawJson(hosts.json(body.name) ?? 'null'), 201);
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
        await registry.remove(name, Boolean((r.query as { force?: boolean }).force));
        log.info({ host: name, user: r.user, req_id: r.request_id }, 'host removed');
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
      handler: action(actions, 'update', (r) => ({ kind: 'update', dry_run: Boolean((r.body as { dry_run?: boolean }).dry_run) })),
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
      handler: action(actions, 'reboot', () => ({ kind: 'reboot' })),
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
      handler: action(actions, 'retry', () => ({ kind: 'retry' })),
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
      handler: action(actions, 'acknowledge', () => ({ kind: 'acknowledge' })),
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
        await actions.ask(r.params.name, { kind: 'accept_host_key' }, { job_id: null, request_id: r.request_id, user: r.user });
        return ok(new RawJson(hosts.json(r.params.name) ?? 'null'));
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
        const data = await actions.ask(r.params.name, { kind: 'inventory', refresh }, { job_id: null, request_id: r.request_id, user: r.user });
        return ok(data);
      },
    },
  ];
}

