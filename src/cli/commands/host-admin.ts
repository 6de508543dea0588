// Changing the fleet: hosts add / hosts remove, host-key accept.
import type { RegisterHostRequest } from '../../client/types.js';
import { CONNECTION_OPTIONS, JSON_OPTION, connect, intFlag, parse } from '../args.js';
import type { Command } from '../command.js';
import { CLI_EXIT } from '../exit-codes.js';
import { writeJson, writeLine } from '../format.js';
import { UsageError } from '../usage-error.js';

export const hostsAdd: Command = {
  name: 'hosts add',
  summary: 'register a host with the running daemon',
  usage: 'NAME --addr ADDR [--port N] [--user USER] [--ssh-key PATH] [--tag TAG]… [--compose-path PATH]… [--no-auto-reboot] [--json]',
  async run(argv, env) {
    const opts = {
      ...CONNECTION_OPTIONS,
      ...JSON_OPTION,
      addr: { type: 'string' },
      port: { type: 'string' },
      user: { type: 'string' },
      'ssh-key': { type: 'string' },
      tag: { type: 'string', multiple: true },
      'compose-path': { type: 'string', multiple: true },
      'no-auto-reboot': { type: 'boolean' },
    } as const;
    const { values, positionals } = parse(argv, opts, { min: 1, max: 1, names: 'the host NAME' });
    if (values.addr === undefined) throw new UsageError('--addr is required');
    const body: RegisterHostRequest = { name: positionals[0], addr: values.addr };
    const port = intFlag('port', values.port, 1, 65535);
    if (port !== undefined) body.port = port;
    if (values.user !== undefined) body.user = values.user;
    if (values['ssh-key'] !== undefined) body.ssh_key = values['ssh-key'];
    if (values.tag) body.tags = values.tag;
    if (values['compose-path']) body.compose_paths = values['compose-path'];
    if (values['no-auto-reboot']) body.policy = { auto_reboot: false };
    const h = await connect(values, env).registerHost(body);
    if (values.json) writeJson(env, h);
    else writeLine(env, `added ${h.name} (${h.addr}), state ${h.state}`);
    return CLI_EXIT.OK;
  },
};

export const hostsRemove: Command = {
  name: 'hosts remove',
  summary: 'remove a host from the running daemon',
  usage: 'NAME [--force]',
  help: '  --force   remove it even while an operation runs on it',
  async run(argv, env) {
    const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, force: { type: 'boolean' } }, { min: 1, max: 1, names: 'the host NAME' });
    await connect(values, env).removeHost(positionals[0], { force: values.force });
    writeLine(env, `removed ${positionals[0]}`);
    return CLI_EXIT.OK;
  },
};

export const hostKeyAccept: Command = {
  name: 'host-key accept',
  summary: 'trust the host key a host presents now (after a legitimate change)',
  usage: 'NAME [--json]',
  async run(argv, env) {
    const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, ...JSON_OPTION }, { min: 1, max: 1, names: 'the host NAME' });
    const h = await connect(values, env).acceptHostKey(positionals[0]);
    if (values.json) writeJson(env, h);
    else writeLine(env, `accepted the host key of ${h.name}, state ${h.state}`);
    return CLI_EXIT.OK;
  },
};
