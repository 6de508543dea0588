// Read commands: health, hosts (filters, paging), host NAME, inventory NAME.
import { HOST_STATES } from '../../../common/schemas/host.js';
import type { HostStatus } from '../../client/types.js';
import { CONNECTION_OPTIONS, JSON_OPTION, PAGING_OPTIONS, connect, oneOf, paging, parse } from '../args.js';
import type { Command } from '../command.js';
import type { CliEnv } from '../env.js';
import { CLI_EXIT } from '../exit-codes.js';
import { dash, pageLine, table, writeJson, writeLine } from '../format.js';

const READ = { ...CONNECTION_OPTIONS, ...JSON_OPTION };

export const health: Command = {
  name: 'health',
  summary: 'the daemon’s status, version, uptime, workers and host count',
  usage: '[--json]',
  async run(argv, env) {
    const { values } = parse(argv, READ, { min: 0, max: 0, names: '' });
    const h = await connect(values, env).health();
    if (values.json) writeJson(env, h);
    else writeLine(env, `${h.status}  version ${h.version}  up ${Math.round(h.uptime_s)} s  ${h.workers} workers  ${h.hosts} hosts  (uWS ${h.uws.build}: ${h.uws.package} ${h.uws.version}, ABI ${h.uws.abi})`);
    return h.status === 'healthy' ? CLI_EXIT.OK : CLI_EXIT.FAILED;
  },
};

export function hostRows(hosts: HostStatus[]): string[][] {
  return hosts.map((h) => [h.name, h.state, dash(h.pending_updates), h.tags.join(',') || '-', dash(h.last_updated?.slice(0, 19).replace('T', ' ')), dash(h.failed?.code ?? h.error)]);
}

export function hostTable(hosts: HostStatus[], env: CliEnv): string {
  return table(['NAME', 'STATE', 'PENDING', 'TAGS', 'LAST UPDATED', 'ERROR'], hostRows(hosts), env.columns);
}

export const hosts: Command = {
  name: 'hosts',
  summary: 'list hosts, filtered and paged',
  usage: '[--tag TAG]… [--group GROUP] [--state STATE] [--search PREFIX] [--page N] [--per-page N] [--json]',
  help: '  --tag TAG   repeatable: a host must have all of them\n  --search    host name prefix',
  async run(argv, env) {
    const opts = { ...READ, ...PAGING_OPTIONS, tag: { type: 'string', multiple: true }, group: { type: 'string' }, state: { type: 'string' }, search: { type: 'string' } } as const;
    const { values } = parse(argv, opts, { min: 0, max: 0, names: '' });
    const state = oneOf('state', values.state, HOST_STATES);
    const page = await connect(values, env).listHosts({ ...paging(values), tag: values.tag, group: values.group, state, search: values.search });
    if (values.json) writeJson(env, page);
    else {
      if (page.data.length) writeLine(env, hostTable(page.data, env));
      writeLine(env, pageLine(page.pagination, 'hosts'));
    }
    return CLI_EXIT.OK;
  },
};

export const host: Command = {
  name: 'host',
  summary: 'one host’s status, with the context of a failure',
  usage: 'NAME [--json]',
  async run(argv, env) {
    const { values, positionals } = parse(argv, READ, { min: 1, max: 1, names: 'the host NAME' });
    const h = await connect(values, env).getHost(positionals[0]);
    if (values.json) {
      writeJson(env, h);
      return CLI_EXIT.OK;
    }
    const rows: [string, string][] = [
      ['name', h.name],
      ['address', h.addr],
      ['state', h.state],
      ['pending updates', dash(h.pending_updates)],
      ['last updated', dash(h.last_updated)],
      ['package manager', `${h.package_manager}${h.compose ? ' + compose' : ''}`],
      ['tags', h.tags.join(', ') || '-'],
      ['groups', h.groups.join(', ') || '-'],
      ['job', dash(h.job_id)],
      ['shard', String(h.shard)],
      ['error', dash(h.error)],
    ];
    if (h.failed) {
      for (const [k, v] of Object.entries(h.failed)) {
        if (v === null || v === undefined) continue;
        rows.push([`failed.${k}`, typeof v === 'string' ? v : JSON.stringify(v)]);
      }
    }
    for (const [k, v] of rows) writeLine(env, `${k.padEnd(16)} ${v}`);
    return CLI_EXIT.OK;
  },
};

export const inventory: Command = {
  name: 'inventory',
  summary: 'a host’s inventory (OS, kernel, packages, containers)',
  usage: 'NAME [--refresh] [--json]',
  help: '  --refresh   read it from the host now instead of the cached copy',
  async run(argv, env) {
    const { values, positionals } = parse(argv, { ...READ, refresh: { type: 'boolean' } }, { min: 1, max: 1, names: 'the host NAME' });
    const inv = await connect(values, env).inventory(positionals[0], { refresh: values.refresh });
    if (values.json) {
      writeJson(env, inv);
      return CLI_EXIT.OK;
    }
    const s = inv.system;
    const hw = inv.hardware;
    const gib = (b: number | null) => (b === null ? '-' : `${(b / 2 ** 30).toFixed(1)} GiB`);
    writeLine(env, `host     ${s.hostname}  (${inv.source}, collected ${inv.collected_at})`);
    writeLine(env, `os       ${[s.os_name, s.os_version, s.os_codename && `(${s.os_codename})`].filter(Boolean).join(' ') || '-'}  kernel ${dash(s.kernel)}  ${dash(s.arch)}`);
    writeLine(env, `hardware ${dash(hw.cpu_model)}  ${dash(hw.cpu_cores)} cores  ${gib(hw.memory_bytes)} memory`);
    for (const d of hw.disks) writeLine(env, `disk     ${d.mount} ${d.device}  ${gib(d.free_bytes)} free of ${gib(d.size_bytes)}`);
    for (const i of hw.interfaces) writeLine(env, `net      ${i.name} ${i.addresses.join(' ') || '-'}`);
    writeLine(env, `packages ${inv.packages.length}, containers ${inv.docker.containers.length}, images ${inv.docker.images.length}`);
    if (inv.packages.length) writeLine(env, table(['PACKAGE', 'VERSION', 'ARCH'], inv.packages.map((p) => [p.name, p.version, dash(p.arch)]), env.columns));
    return CLI_EXIT.OK;
  },
};
