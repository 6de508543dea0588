// A loaded config must not keep its file's text alive: the daemon keeps the
// config for its whole life, and each SIGHUP reload adds one more (the hosts
// it added point into it). TOML parsers hand out strings sliced from the text.
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseConfig } from '../src/config/load.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function fleetToml(hosts: number, tag: string): string {
  const lines = ['[daemon]', 'state_dir = "/var/lib/tendhost"', '[defaults]', 'ssh_key = "/etc/tendhost/id_ed25519"'];
  for (let i = 0; i < hosts; i++) {
    lines.push('[[host]]', `name = "${tag}-web-${String(i).padStart(6, '0')}"`, `addr = "web-${i}.${tag}.example.internal"`, 'tags = ["debian", "production-frontends"]');
    lines.push('[host.policy]', 'verify_command = "systemctl is-system-running --wait"');
  }
  return lines.join('\n') + '\n';
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

t.test('the hosts kept from each parsed config do not pin the text of its file', async (t) => {
  const kept: unknown[] = [];
  const reload = (n: number): number => {
    const text = fleetToml(20_000, `r${n}`);
    const cfg = parseConfig(text, '/etc/tendhost/tendhost.toml', {});
    // Like a SIGHUP reload: a few hosts (the ones it added) stay for good.
    kept.push(...cfg.hosts.slice(0, 5), cfg.daemon.state_dir);
    return text.length;
  };
  // The first parse leaves one-time state behind (compiled code, caches, the regexp engine's last input): measure after it.
  const textBytes = reload(0);
  const before = heapAfterGc();
  for (let n = 1; n <= 9; n++) reload(n);
  const grew = heapAfterGc() - before;
  t.equal(kept.length, 60);
  // Pinned, nine more texts of ~3.6 MB would stay; the 45 hosts kept are a few KB.
  t.ok(grew < textBytes, `heap grew ${(grew / 1e6).toFixed(2)} MB over nine parses of ${(textBytes / 1e6).toFixed(1)} MB of config text each, keeping 45 hosts`);
});
