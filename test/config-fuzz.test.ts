// The config file fuzzed the way the API is: thousands of mutated
// tendhost.toml files (bytes dropped, inserted, lines swapped or duplicated,
// values replaced with other types) each either load or fail with one
// ConfigError line that names the file and the key (or, for a TOML syntax
// error, the line);
// never another exception. A sample of the failing ones is then given to the
// built daemon: exit 2, one line on stderr naming the file, no stack trace.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import { runToExit } from '../harness/daemon.js';
import { seededRng } from '../harness/simulator/faults.js';

const FILE = '/etc/tendhost/fuzz.toml';
const MUTANTS = 4000;
const SPAWNED = 12;

/** A file that uses every section, so mutations reach every key. */
const BASE = `[daemon]
bind = "127.0.0.1:0"
log_level = "warn"
workers = 2
worker_nice = 10
worker_watchdog_s = 30
state_dir = "./state"
shutdown_grace_s = 30

[daemon.ssh]
host_key_policy = "accept-new"
connect_timeout_s = 10
idle_timeout_s = 300
max_sessions_per_worker = 500

[daemon.operations]
command_timeout_s = 1800
reboot_deadline_s = 600
reboot_poll_s = 5

[daemon.http]
body_limit_bytes = 1048576

[daemon.ws]
replay_buffer = 10000
max_backpressure_bytes = 4194304

[daemon.rate_limit]
enabled = true
per = "address"
rate_per_s = 100
burst = 200

[defaults]
user = "root"
port = 22

[groups]
web = ["web-1", "web-2"]

[[host]]
name = "web-1"
addr = "10.0.0.1"
tags = ["prod", "web"]
[host.policy]
auto_reboot = true
maintenance_window = { start = "02:00", end = "04:00", days = ["Sat", "Sun"] }
verify_command = "systemctl is-active nginx"

[[host]]
name = "web-2"
addr = "web-2.example.com"
port = 2222
compose_paths = ["/srv/app"]
[host.docker]
compose_version = "v2"
pull_before_update = false

[audit]
enabled = false
`;

const NASTY = ['"', "'", '[', ']', '{', '}', '=', '\n', '#', '\\', '\0', '\u202e', 'é', '"""', '[[', '.', ',', ' ', '-', '1e999', 'inf', 'nan', '0x', ''];
const VALUES = ['0', '-1', '65536', '1e308', '3.5', 'true', '"x"', '""', '[]', '{}', '[1, "a"]', '1979-05-27T07:32:00Z', '"127.0.0.1;id"', 'nan', '"a b"', `"${'x'.repeat(5000)}"`];

function mutate(text: string, rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  let out = text;
  const rounds = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < rounds; i++) {
    const at = Math.floor(rand() * out.length);
    const lines = out.split('\n');
    const li = Math.floor(rand() * lines.length);
    switch (Math.floor(rand() * 7)) {
      case 0: // drop some bytes
        out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rand() * 8));
        break;
      case 1: // insert something nasty
        out = out.slice(0, at) + pick(NASTY) + out.slice(at);
        break;
      case 2: // replace a value with another type
        if (lines[li].includes('=')) lines[li] = `${lines[li].split('=')[0]}= ${pick(VALUES)}`;
        out = lines.join('\n');
        break;
      case 3: // duplicate a line
        lines.splice(li, 0, lines[li]);
        out = lines.join('\n');
        break;
      case 4: // swap two lines
        {
          const lj = Math.floor(rand() * lines.length);
          [lines[li], lines[lj]] = [lines[lj], lines[li]];
          out = lines.join('\n');
        }
        break;
      case 5: // misspell a key
        if (lines[li].includes('=')) lines[li] = lines[li].replace(/^(\w)(\w)/, '$2$1');
        out = lines.join('\n');
        break;
      default: // cut the file short
        out = out.slice(0, at);
    }
  }
  return out;
}

t.test(`${MUTANTS} mutated files: each loads or fails with one line naming the file`, async (t) => {
  // Seeded, so a failure can be replayed.
  const rand = seededRng(20261206);
  let loaded = 0;
  let refused = 0;
  let withKey = 0;
  const problems: string[] = [];
  const failing: string[] = [];
  for (let i = 0; i < MUTANTS; i++) {
    const text = mutate(BASE, rand);
    try {
      parseConfig(text, FILE, {});
      loaded++;
    } catch (err) {
      if (!(err instanceof ConfigError)) {
        problems.push(`mutant ${i}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
        continue;
      }
      refused++;
      const msg = err.message;
      if (msg.includes('\n')) problems.push(`mutant ${i}: message spans lines: ${JSON.stringify(msg)}`);
      if (!msg.startsWith(FILE)) problems.push(`mutant ${i}: message does not start with the file: ${msg}`);
      if (/\bat .*\.(js|ts):\d+/.test(msg)) problems.push(`mutant ${i}: a stack frame in the message: ${msg}`);
      if (err.key) withKey++;
      else if (!err.line) problems.push(`mutant ${i}: names neither a key nor a line: ${msg}`);
      if (failing.length < SPAWNED && i % 7 === 0) failing.push(text);
    }
  }
  t.same(problems.slice(0, 10), [], `no mutant escaped as another error (${problems.length} did)`);
  t.ok(refused > MUTANTS / 4, `${refused} refused, ${loaded} loaded`);
  t.ok(withKey > 0, `${withKey} refusals name a key, the others (TOML syntax) the line`);

  const dir = mkdtempSync(join(tmpdir(), 'tendhost-cfg-fuzz-'));
  for (const [i, text] of failing.entries()) {
    const file = join(dir, `fuzz-${i}.toml`);
    writeFileSync(file, text);
    const { code, output } = await runToExit(file);
    t.equal(code, 2, `daemon on mutant ${i}: exit 2`);
    const lines = output.trim().split('\n');
    t.equal(lines.length, 1, `daemon on mutant ${i}: one line (${lines[0]})`);
    t.match(lines[0], new RegExp(`^tendhost: config error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d+)?: `), `daemon on mutant ${i}: names the file`);
    t.notMatch(output, /^\s+at /m, `daemon on mutant ${i}: no stack trace`);
  }
});
