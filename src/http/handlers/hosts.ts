// /hosts: reads come from the read model (cached JSON); actions go to the
// host's shard and answer 202 {job_id} at once.
import { Type } from 'typebox';
import { TendhostError } from '../../../common/errors.js';
import type { Logger } from 'pino';
import type { HostRegistry } from '../../app/host-registry.js';
import type { ActionRequest, HostActions } from '../../app/host-actions.js';
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
import { RawJson, ok, type DomainErrorCode, type Reply, type RequestContext, type Route, defineRoute } from '../route.js';
import { COMMAND_ERRORS, type HostCommand } from '../../../common/thread-protocol.js';
import type { JobKind } from '../../../common/schemas/job.js';

export const HostList = Type.Object({ data: Type.Array(HostStatus), pagination: Pagination }, { title: 'HostList' });


export interface HostRouteDeps {
  /** Reads: the read model's cached JSON. */
  hosts: Pick<ReadModel, 'json' | 'listBody' | 'has'>;
  /** The host registry, or on a cluster node the commands that reach each host's owner. */
  registry: Pick<HostRegistry, 'register' | 'remove'>;
  actions: { start(req: ActionRequest): Promise<{ id: string }>; ask: HostActions['ask'] };
  log: Logger;
}

/** An action on one host: a job around the command, answered 202 {job_id} at once. */
async function startAction(actions: HostRouteDeps['actions'], r: Pick<RequestContext, 'request_id' | 'user'> & { params: { name: string } }, kind: JobKind, command: HostCommand): Promise<Reply> {
  const job = await actions.start({
    host: r.params.name,
    command,
    kind,
    request_id: r.request_id,
    user: r.user,
    dry_run: command.kind === 'update' ? command.dry_run : undefined,
  });
  return ok({ job_id: job.id }, 202);
}

/** A command's refusals, and its worker being replaced at that moment. */
const sentToWorker = (kind: HostCommand['kind']): DomainErrorCode[] => [...COMMAND_ERRORS[kind], 'WORKER_UNAVAILABLE'];

const accepted = { 202: { description: 'Accepted; the job runs on', schema: JobAccepted } };

export function hostRoutes({ hosts, registry, actions, log }: HostRouteDeps): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/hosts',
      summary: 'List hosts (paginated, filterable)',
      tag: 'hosts',
      query: HostListQuery,
      responses: { 200: { description: 'A page of hosts', schema: HostList } },
      handler(r) {
        const q = r.query;
        const page = q.page ?? 1;
        const perPage = q.per_page ?? 50;
        return ok(new RawJson(hosts.listBody({ page, per_page: perPage, tags: q.tag, state: q.state, group: q.group, search: q.search })));
      },
    }),
    defineRoute({
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
    }),
    defineRoute({
      method: 'POST',
      path: '/hosts',
      summary: 'Register a host (gets an actor on its shard at once)',
      tag: 'hosts',
      body: RegisterHostRequest,
      responses: { 201: { description: 'Registered', schema: HostStatus } },
      errors: ['HOST_EXISTS'],
      forwarded: true,
      async handler(r) {
        const status = await registry.register(r.body, (name) => hosts.has(name));
        log.info({ host: r.body.name, user: r.user, req_id: r.request_id }, 'host registered');
        // A cluster node's read model may not have it yet (it comes back on the stream).
        return ok(new RawJson(hosts.json(r.body.name) ?? JSON.stringify(status)), 201);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/hosts/:name',
      summary: 'Remove a host (409 while busy unless force)',
      tag: 'hosts',
      params: HostNameParams,
      query: DeleteHostQuery,
      responses: { 204: { description: 'Removed' } },
      errors: ['HOST_NOT_FOUND', 'HOST_BUSY'],
      forwarded: true,
      async handler(r) {
        const name = r.params.name;
        await registry.remove(name, r.query.force ?? false);
        log.info({ host: name, user: r.user, req_id: r.request_id }, 'host removed');
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/hosts/:name/update',
      summary: 'Query and update a host (dry_run simulates)',
      tag: 'actions',
      params: HostNameParams,
      body: UpdateRequest,
      responses: accepted,
      errors: sentToWorker('update'),
      forwarded: true,
      handler: (r) => startAction(actions, r, 'update', { kind: 'update', dry_run: r.body.dry_run ?? false }),
    }),
    defineRoute({
      method: 'POST',
      path: '/hosts/:name/reboot',
      summary: 'Reboot a host waiting for a reboot, then verify it',
      tag: 'actions',
      params: HostNameParams,
      body: EmptyBody,
      responses: accepted,
      errors: sentToWorker('reboot'),
      forwarded: true,
      handler: (r) => startAction(actions, r, 'reboot', { kind: 'reboot' }),
    }),
    defineRoute({
      method: 'POST',
      path: '/hosts/:name/retry',
      summary: 'Leave the failed state (back to idle)',
      tag: 'actions',
      params: HostNameParams,
      body: EmptyBody,
      responses: accepted,
      errors: sentToWorker('retry'),
      forwarded: true,
      handler: (r) => startAction(actions, r, 'retry', { kind: 'retry' }),
    }),
    defineRoute({
      method: 'POST',
      path: '/hosts/:name/acknowledge',
      summary: 'Acknowledge a failure (stays failed)',
      tag: 'actions',
      params: HostNameParams,
      body: EmptyBody,
      responses: accepted,
      errors: sentToWorker('acknowledge'),
      forwarded: true,
      handler: (r) => startAction(actions, r, 'acknowledge', { kind: 'acknowledge' }),
    }),
    defineRoute({
      method: 'POST',
      path: '/hosts/:name/host-key/accept',
      summary: "Accept a host's changed SSH host key (lifts the quarantine)",
      tag: 'actions',
      params: HostNameParams,
      body: EmptyBody,
      responses: { 200: { description: 'Accepted', schema: HostStatus } },
      errors: sentToWorker('accept_host_key'),
      forwarded: true,
      async handler(r) {
        await actions.ask(r.params.name, { kind: 'accept_host_key' }, { job_id: null, request_id: r.request_id, user: r.user });
        return ok(new RawJson(hosts.json(r.params.name) ?? 'null'));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/hosts/:name/inventory',
      summary: "What the host is: system, hardware, packages, containers",
      tag: 'hosts',
      params: HostNameParams,
      query: InventoryQuery,
      responses: { 200: { description: 'Inventory (cached with a TTL)', schema: Inventory } },
      errors: sentToWorker('inventory'),
      forwarded: true,
      async handler(r) {
        const refresh = r.query.refresh ?? false;
        const data = await actions.ask(r.params.name, { kind: 'inventory', refresh }, { job_id: null, request_id: r.request_id, user: r.user });
        return ok(data);
      },
    }),
  ];
}

