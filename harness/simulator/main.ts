// CLI: node dist/harness/simulator/main.js --hosts 1000 --mix debian=70,fedora=20,compose=10 \
//        --fault refused=2% --fault auth=sim-00007 --client-key /tmp/sim/key --duration-s 600
// Prints the fleet as a tendhost.toml fragment (stdout, or --toml-out FILE),
// then one line `READY {json}` a parent process can wait for. Stops by itself
// after --duration-s, or on SIGTERM/SIGINT.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isPersona, type PersonaName } from './host.js';
import { startSimulator } from './index.js';
import { DEFAULTS, type SimulatorOptions } from './options.js';

const USAGE = `usage: node dist/harness/simulator/main.js [flags]
  --hosts N                 number of hosts (${DEFAULTS.hosts})
  --mix debian=70,fedora=20,compose=10   persona weights
  --base-addr IP            first host address in 127.0.0.0/8 (${DEFAULTS.baseAddr})
  --port N                  port each host listens on (${DEFAULTS.port}; 0 = ephemeral per host)
  --single-addr             every host on --base-addr, ports --port+i (or ephemeral)
  --name-prefix P           host names P00001… (${DEFAULTS.namePrefix})
  --first N                 number of the first host (1): a slice of a fleet spread over processes
  --name-width N            digits in host names (5, or as many as the last number needs)
  --fault F=SEL             repeatable; F: refused slow auth changed-key timeout lock upgrade-fail
                            reboot-never reboot-same-bootid drop disk-full; SEL: 2% | 3 | sim-00001,sim-00002
  --user U=SEL              repeatable; U: root deploy deploy-nosudo (default root)
  --pending N               pending upgrades per host (${DEFAULTS.pending})
  --reboot-required-pct P   share of hosts whose upgrade wants a reboot (${DEFAULTS.rebootRequiredPct})
  --compose-stacks N        stacks per compose host (${DEFAULTS.composeStacks})
  --slow-ms MS              handshake delay of 'slow' hosts (${DEFAULTS.slowMs})
  --reboot-down-ms MS       refused time after reboot (${DEFAULTS.rebootDownMs})
  --changed-key-after N     'changed-key' hosts show the fleet key for N connections first (${DEFAULTS.changedKeyAfter})
  --client-key PATH         client private key; created (ed25519, 0600) if missing
  --host-key PATH           persist the fleet host key (PATH.changed for the other one)
  --control-port N          control HTTP on 127.0.0.1 (0 = ephemeral, "none" = off)
  --toml-out FILE           write the toml fragment there instead of stdout
  --duration-s S            stop after S seconds (600)
  --seed N                  random seed (${DEFAULTS.seed})
  --verbose                 log simulator diagnostics to stderr`;

function int(flag: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function parseMix(v: string | undefined): Partial<Record<PersonaName, number>> | undefined {
  if (v === undefined) return undefined;
  const mix: Partial<Record<PersonaName, number>> = {};
  for (const part of v.split(',')) {
    const [k, w] = part.split('=');
    if (!isPersona(k)) throw new Error(`--mix: unknown persona "${k}" (debian, fedora, compose)`);
    const n = Number(w);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--mix: weight of ${k} must be a number >= 0`);
    mix[k] = n;
  }
  return mix;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string' },
      mix: { type: 'string' },
      'base-addr': { type: 'string' },
      port: { type: 'string' },
      'single-addr': { type: 'boolean' },
      'name-prefix': { type: 'string' },
      first: { type: 'string' },
      'name-width': { type: 'string' },
      fault: { type: 'string', multiple: true },
      user: { type: 'string', multiple: true },
      pending: { type: 'string' },
      'reboot-required-pct': { type: 'string' },
      'compose-stacks': { type: 'string' },
      'slow-ms': { type: 'string' },
      'reboot-down-ms': { type: 'string' },
      'changed-key-after': { type: 'string' },
      'client-key': { type: 'string' },
      'host-key': { type: 'string' },
      'control-port': { type: 'string' },
      'toml-out': { type: 'string' },
      'duration-s': { type: 'string' },
      seed: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const durationS = Number(values['duration-s'] ?? 600);
  if (!Number.isFinite(durationS) || durationS <= 0) throw new Error('--duration-s must be a number > 0');
  const controlPort = values['control-port'] === 'none' ? null : int('--control-port', values['control-port']);
  const pct = int('--reboot-required-pct', values['reboot-required-pct']);
  if (pct !== undefined && pct > 100) throw new Error('--reboot-required-pct must be 0..100');

  const opts: SimulatorOptions = {
    hosts: int('--hosts', values.hosts, 1),
    mix: parseMix(values.mix),
    baseAddr: values['base-addr'],
    port: int('--port', values.port),
    singleAddr: values['single-addr'],
    namePrefix: values['name-prefix'],
    first: int('--first', values.first, 1),
    nameWidth: int('--name-width', values['name-width'], 1),
    faults: values.fault,
    users: values.user,
    pending: int('--pending', values.pending),
    rebootRequiredPct: pct,
    composeStacks: int('--compose-stacks', values['compose-stacks']),
    slowMs: int('--slow-ms', values['slow-ms']),
    rebootDownMs: int('--reboot-down-ms', values['reboot-down-ms']),
    changedKeyAfter: int('--changed-key-after', values['changed-key-after']),
    clientKeyPath: values['client-key'],
    hostKeyPath: values['host-key'],
    controlPort,
    seed: int('--seed', values.seed),
    log: values.verbose ? (m) => process.stderr.write(`simulator: ${m}\n`) : undefined,
  };

  const started = Date.now();
  const sim = await startSimulator(opts);
  if (values['toml-out']) writeFileSync(values['toml-out'], sim.toml);
  else process.stdout.write(sim.toml + '\n');

  const s = sim.summary();
  const first = sim.hosts[0];
  const ready = {
    hosts: s.hosts,
    up: s.up,
    personas: s.personas,
    faults: s.faults,
    first: `${first.addr}:${first.port}`,
    control_url: sim.controlUrl,
    client_key: sim.clientKeyPath,
    host_key_fingerprint: sim.hostKeyFingerprint,
    changed_host_key_fingerprint: sim.changedHostKeyFingerprint,
    toml_out: values['toml-out'] ?? null,
    duration_s: durationS,
    start_ms: Date.now() - started,
    pid: process.pid,
  };
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);

  let exiting = false;
  const shutdown = (why: string) => {
    if (exiting) return;
    exiting = true;
    if (values.verbose) process.stderr.write(`simulator: stopping (${why})\n`);
    clearTimeout(timer);
    sim.stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`simulator: stop failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  const timer = setTimeout(() => shutdown('duration reached'), durationS * 1000);
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`simulator: ${err.message}\n`);
  process.exit(2);
});
