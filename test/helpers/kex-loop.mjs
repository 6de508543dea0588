// Child process for test/ssh2-patch.test.ts. Run with a tiny young generation
// (--max-semi-space-size=1) so garbage collections land inside ssh2's
// curve25519 calls as often as they can: a thread that deadlocks there (on a
// key mutex it already holds) freezes, and the test's watchdog kills it.
//
// One real handshake (harness/ssh2-exchange.cjs) yields ssh2's
// curve25519 exchange class as installed, patched; then pairs of exchanges
// agree on secrets back to back for the given seconds.
// Prints one JSON line: {"handshake": true, "exchanges": N, "mismatches": M}.
import { createRequire } from 'node:module';
import ssh2 from 'ssh2';

const { curve25519Exchange } = createRequire(import.meta.url)('../../harness/ssh2-exchange.cjs');

const seconds = Number(process.argv[2] ?? 5);
const { Exchange } = await curve25519Exchange(ssh2);

let exchanges = 0;
let mismatches = 0;
const until = Date.now() + seconds * 1000;
while (Date.now() < until) {
  const a = new Exchange('sha256', {}, {}, undefined);
  const b = new Exchange('sha256', {}, {}, undefined);
  const sa = a.computeSecret(b.getPublicKey());
  const sb = b.computeSecret(a.getPublicKey());
  if (!(sa instanceof Buffer) || !sa.equals(sb)) mismatches++;
  exchanges++;
}
console.log(JSON.stringify({ handshake: Exchange.name === 'Curve25519Exchange', exchanges, mismatches }));
process.exit(0);
