// Child process for test/ssh2-patch.test.ts. Run with a tiny young generation
// (--max-semi-space-size=1) so garbage collections land inside ssh2's
// curve25519 calls as often as they can: a thread that deadlocks there (on a
// key mutex it already holds) freezes, and the test's watchdog kills it.
//
// One real handshake (an ssh2 Server and Client on loopback) yields ssh2's
// curve25519 exchange class as installed, patched; then pairs of exchanges
// agree on secrets back to back for the given seconds.
// Prints one JSON line: {"handshake": true, "exchanges": N, "mismatches": M}.
import net from 'node:net';
import ssh2 from 'ssh2';

const seconds = Number(process.argv[2] ?? 5);
const kex = ['curve25519-sha256'];

const ssh = new ssh2.Server({ hostKeys: [ssh2.utils.generateKeyPairSync('ed25519').private], algorithms: { kex } }, (conn) => {
  conn.on('error', () => {});
  conn.on('authentication', (ctx) => ctx.accept());
});
const server = net.createServer((socket) => ssh.injectSocket(socket));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

const client = new ssh2.Client();
await new Promise((resolve, reject) => {
  client.once('ready', resolve).once('error', reject);
  client.connect({ host: '127.0.0.1', port: server.address().port, username: 'u', password: 'p', algorithms: { kex }, hostVerifier: () => true });
});
const Exchange = client._protocol._kex.constructor;
client.end();
server.close();

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
