// Self-test of the simulator's capacity: starts it as a child process
// (dist/harness/simulator/main.js), then a plain ssh2 client does handshake +
// one exec (`cat /proc/sys/kernel/random/boot_id`) + disconnect against every
// host at a fixed concurrency, and reports hosts/s and the simulator's CPU.
//   node dist/harness/simulator/selftest.js [--hosts 1000] [--concurrency 100] [--rounds 1]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSsh2 } from '../../workers/exec/ssh2-module.js';

import { CMD } from '../../workers/pkg/commands.js';

// The same ssh2 build the daemon uses on this runtime (TENDHOST_SSH2_PATCH).
const { ssh2 } = loadSsh2();

const { Client } = ssh2;

interface HostRow {
  name: string;
  addr: string;
  port: number;
  user: string;
  boot_id: string;
}

/** utime+stime of a process in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ = 100
}

function once(h: HostRow, key: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('error', reject);
    c.once('ready', () => {
      c.exec(CMD.bootId, (err, stream) => {
        if (err) return reject(err);
        let out = '';
        stream.on('data', (d: Buffer) => (out += d));
        stream.on('close', () => {
          c.end();
          resolve(out.trim());
        });
      });
    });
    c.connect({ host: h.addr, port: h.port, username: h.user === 'root' ? 'root' : 'deploy', privateKey: key, readyTimeout: 20000 });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '100' },
      rounds: { type: 'string', default: '1' },
      'base-addr': { type: 'string', default: '127.200.0.1' },
    },
  });
  const n = Number(values.hosts);
  const conc = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const mainJs = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [mainJs, '--hosts', String(n), '--base-addr', values['base-addr']!, '--port', '0', '--toml-out', '/dev/null', '--duration-s', '600'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const killChild = () => child.kill('SIGTERM');
  process.once('exit', killChild);
  const t0 = Date.now();
  const ready = await new Promise<{ control_url: string; client_key: string; pid: number }>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      if (l.startsWith('READY ')) resolve(JSON.parse(l.slice(6)));
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code} before READY`)));
  });
  const startMs = Date.now() - t0;
  const hosts = ((await fetch(`${ready.control_url}/hosts`).then((r) => r.json())) as { hosts: HostRow[] }).hosts;
  const key = readFileSync(ready.client_key);

  console.log(`simulator: ${n} hosts ready in ${startMs} ms (pid ${ready.pid})`);
  for (let round = 1; round <= rounds; round++) {
    let next = 0;
    let ok = 0;
    let bad = 0;
    const cpu0 = cpuMs(ready.pid);
    const self0 = process.cpuUsage();
    const started = process.hrtime.bigint();
    const worker = async () => {
      while (next < hosts.length) {
        const h = hosts[next++];
        try {
          const id = await once(h, key);
          if (id === h.boot_id) ok++;
          else bad++;
        } catch {
          bad++;
        }
      }
    };
    await Promise.all(Array.from({ length: conc }, worker));
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    const simCpu = cpuMs(ready.pid) - cpu0;
    const self = process.cpuUsage(self0);
    const clientCpu = (self.user + self.system) / 1000;
    console.log(
      `round ${round}: ${ok}/${hosts.length} ok, ${bad} failed, ${secs.toFixed(2)} s, ` +
        `${(hosts.length / secs).toFixed(0)} hosts/s (handshake+exec, concurrency ${conc}); ` +
        `simulator CPU ${(simCpu / hosts.length).toFixed(2)} ms/host, client CPU ${(clientCpu / hosts.length).toFixed(2)} ms/host`,
    );
  }
  killChild();
  await new Promise((r) => child.once('exit', r));
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
