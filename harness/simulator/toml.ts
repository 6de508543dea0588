// The fleet as a tendhost.toml fragment: one [[host]] table per simulated host.
import { loginName } from './fleet.js';
import type { SimHost } from './host.js';

/** A TOML basic string (JSON's escapes are a subset TOML accepts). */
function str(s: string): string {
  return JSON.stringify(s);
}
function arr(xs: readonly string[]): string {
  return `[${xs.map(str).join(', ')}]`;
}

/** Tags: the persona first, then "sim", then one `fault-<name>` per fault configured at start. */
export function hostTags(h: SimHost): string[] {
  return [h.persona, 'sim', ...[...h.faults].map((f) => `fault-${f}`)];
}

export function hostToml(h: SimHost, sshKey: string): string {
  let out =
    '[[host]]\n' +
    `name = ${str(h.name)}\n` +
    `addr = ${str(h.addr)}\n` +
    `port = ${h.port}\n` +
    `user = ${str(loginName(h.user))}\n` +
    `ssh_key = ${str(sshKey)}\n` +
    `tags = ${arr(hostTags(h))}\n`;
  if (h.stacks.length > 0) {
    out += `compose_paths = ${arr(h.stacks.map((s) => s.dir))}\n`;
    out += 'docker = { compose_version = "v2" }\n';
  }
  return out;
}

export function fleetToml(hosts: readonly SimHost[], sshKey: string): string {
  const head = `# tendhost fleet simulator: ${hosts.length} hosts (generated ${new Date().toISOString()})\n\n`;
  return head + hosts.map((h) => hostToml(h, sshKey)).join('\n');
}
