// Does the ssh2 patch (patches/ssh2.mjs) still pay on this runtime? It exists
// because OpenSSL 3.0's PEM/DER coders take process-wide locks, so worker
// threads handshaking at once queue on each other. This runs the client-side
// crypto of a handshake (a curve25519 exchange with ssh2's own class, and a
// host-key signature checked on a key parsed from the wire) in 1 and then 2
// worker threads at once, with ssh2 patched and as published, in the same run,
// interleaved. Contention shows as µs per handshake growing with 2 threads
// (2 cores: no contention ≈ the same µs per thread).
//   npx tsc && node dist/bench/ssh2-patch.js            (BENCH_SECONDS=3, BENCH_ROUNDS=3)
// Prints one JSON line per (variant, threads) and a summary with the runtime.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './lib/bench-env.js';

const require = createRequire(import.meta.url);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const patchedDir = dirname(require.resolve('ssh2/package.json'));
// Read from the source tree (a .cjs file is not compiled into dist/).
const EXCHANGE_HELPER = join(REPO_ROOT, 'harness/ssh2-exchange.cjs');
const VARIANTS = { patched: patchedDir, unpatched: join(patchedDir, '..', '.tendhost', 'ssh2-unpatched') };

// Runs inside each thread (CommonJS eval): one real handshake on loopback to get
// ssh2's curve25519 exchange class as loaded, then handshake crypto in a loop.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const ssh2 = require(workerData.dir);
const { curve25519Exchange } = require(workerData.exchangeHelper);
(async () => {
  const { Exchange, hostKey } = await curve25519Exchange(ssh2);
  const priv = ssh2.utils.parseKey(hostKey.private);
  const wire = ssh2.utils.parseKey(hostKey.public).getPublicSSH();
  const data = crypto.randomBytes(64);
  const sig = priv.sign(data);
  parentPort.postMessage('ready');
  await new Promise((r) => parentPort.once('message', r));
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = Date.now() + workerData.seconds * 1000;
  while (Date.now() < end) {
    const a = new Exchange('sha256', {}, {}, undefined);
    const b = new Exchange('sha256', {}, {}, undefined);
    a.computeSecret(b.getPublicKey());
    const pub = ssh2.utils.parseKey(wire);
    if (pub.verify(data, sig) !== true) throw new Error('verify failed');
    n++;
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  parentPort.postMessage({ n, us });
})();
`;

async function run(dir: string, threads: number): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { dir, seconds: SECONDS, exchangeHelper: EXCHANGE_HELPER } }));
  const failed = new Promise<never>((_, reject) => workers.forEach((w) => w.once('error', reject)));
  await Promise.race([Promise.all(workers.map((w) => new Promise((r) => w.once('message', r)))), failed]).catch(async (err) => {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  });
  const results = workers.map((w) => new Promise<{ n: number; us: number }>((r) => w.once('message', r)));
  for (const w of workers) w.postMessage('go');
  const done = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  // µs per handshake per thread, averaged over the threads.
  return done.reduce((s, d) => s + d.us / d.n, 0) / done.length;
}

const rows: Record<string, number[]> = {};
// A variant that cannot handshake on this runtime is reported, not measured
// (the patched ssh2 on Node 24: its X25519 JWK import is refused).
const broken: Record<string, string> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [variant, dir] of Object.entries(VARIANTS)) {
    if (broken[variant]) continue;
    for (const threads of [1, 2]) {
      try {
        const us = await run(dir, threads);
        (rows[`${variant}/${threads}`] ??= []).push(us);
      } catch (err) {
        broken[variant] = (err as Error).message;
        break;
      }
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const runtime = { node: process.version, openssl: process.versions.openssl, abi: process.versions.modules };
const summary: Record<string, unknown> = { bench: 'ssh2-patch', runtime, seconds: SECONDS, rounds: ROUNDS };
for (const variant of Object.keys(VARIANTS)) {
  if (broken[variant]) {
    summary[variant] = { error: broken[variant] };
    continue;
  }
  const one = median(rows[`${variant}/1`]!);
  const two = median(rows[`${variant}/2`]!);
  summary[variant] = { us_per_handshake_1_thread: +one.toFixed(1), us_per_handshake_2_threads: +two.toFixed(1), contention: +(two / one).toFixed(2) };
}
console.log(JSON.stringify(summary));
