// /groups and /tags: how the fleet is organised.
import { Type } from 'typebox';
import { TendhostError } from '../../../common/errors.js';
import type { ReadModel } from '../../state/read-model.js';
import { GroupHostsQuery, GroupNameParams } from '../../../common/schemas/requests.js';
import { RawJson, ok, type Route, defineRoute } from '../route.js';
import { HostList } from './hosts.js';

export const GroupSummary = Type.Object({ name: Type.String(), hosts: Type.Integer() });
export const GroupList = Type.Object({ data: Type.Array(GroupSummary) }, { title: 'GroupList' });
export const TagList = Type.Object({ data: Type.Array(Type.Object({ tag: Type.String(), hosts: Type.Integer() })) }, { title: 'TagList' });

export interface GroupRouteDeps {
  groups: () => Readonly<Record<string, readonly string[]>>;
  hosts: Pick<ReadModel, 'listBody' | 'tagCounts'>;
}

export function groupRoutes({ groups, hosts }: GroupRouteDeps): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/groups',
      summary: 'Every group with its host count',
      tag: 'fleet',
      responses: { 200: { description: 'Groups', schema: GroupList } },
      handler() {
        const data = Object.entries(groups())
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, members]) => ({ name, hosts: members.length }));
        return ok({ data });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/groups/:name',
      summary: "A group's hosts (paginated like /hosts)",
      tag: 'fleet',
      params: GroupNameParams,
      query: GroupHostsQuery,
      responses: { 200: { description: 'A page of the group\'s hosts', schema: HostList } },
      errors: ['GROUP_NOT_FOUND'],
      handler(r) {
        if (!Object.hasOwn(groups(), r.params.name)) {
          throw new TendhostError('GROUP_NOT_FOUND', `group ${r.params.name} not found`);
        }
        const q = r.query;
        const page = q.page ?? 1;
        const perPage = q.per_page ?? 50;
        return ok(new RawJson(hosts.listBody({ page, per_page: perPage, group: r.params.name })));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/tags',
      summary: 'Every tag with its host count',
      tag: 'fleet',
      responses: { 200: { description: 'Tags', schema: TagList } },
      handler() {
        return ok({ data: hosts.tagCounts() });
      },
    }),
  ];
}
