// ssh2's curve25519 key-exchange class as a given ssh2 copy loads it: one real
// handshake (an ssh2 Server and Client on loopback) and the class is read off
// the client's protocol. For the ssh2 patch's bench and its deadlock test,
// which both run the exchange in a loop. CommonJS so that the bench's eval'd
// worker threads can require it by path.
'use strict';
const net = require('node:net');

/** @param {typeof import('ssh2')} ssh2 */
async function curve25519Exchange(ssh2) {
  const kex = ['curve25519-sha256'];
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const ssh = new ssh2.Server({ hostKeys: [hostKey.private], algorithms: { kex } }, (conn) => {
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
  return { Exchange, hostKey };
}

module.exports = { curve25519Exchange };
