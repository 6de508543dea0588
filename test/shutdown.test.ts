// How the daemon ends: signals stop it cleanly with exit 0; a port that
// cannot be bound is exit 3; each with one clear log line.
import t from 'tap';
import { createServer } from 'node:net';
import { startDaemon, writeConfig, runToExit } from '../harness/daemon.js';

t.test('SIGTERM stops accepting, finishes, and exits 0', async (t) => {
  const d = await startDaemon({ toml: '[[host]]\nname = "a"\naddr = "127.0.0.9"\n' });
  t.equal((await d.get('/health')).status, 200);
  const code = await d.stop('SIGTERM');
  t.equal(code, 0);
  t.ok(d.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'));
  t.ok(d.logs.some((l) => l.msg === 'stopped'));
  await t.rejects(fetch(`${d.url}/health`), 'no longer listening');
});

t.test('SIGINT does the same', async (t) => {
  const d = await startDaemon();
  t.equal(await d.stop('SIGINT'), 0);
});

t.test('a request in flight during SIGTERM still gets its answer', async (t) => {
  const d = await startDaemon({ toml: '[[host]]\nname = "a"\naddr = "127.0.0.9"\n' });
  // Open a request whose body is still arriving, signal, then finish it.
  const url = new URL(`${d.url}/hosts/a/retry`);
  const { request } = await import('node:http');
  const answer = new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '2' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write('{');
    setTimeout(() => {
      d.proc.kill('SIGTERM');
      setTimeout(() => req.end('}'), 200);
    }, 100);
  });
  t.equal(await answer, 409, 'answered (host is not failed) after the signal');
  t.equal(await d.exited, 0);
});

t.test('a port that cannot be bound exits 3 with one clear line', async (t) => {
  // A plain (non-SO_REUSEPORT) listener makes the port really unavailable.
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  const { file } = writeConfig({ daemon: '' });
  const { code, output } = await runToExit(file, { TENDHOST_BIND: `127.0.0.1:${port}` });
  blocker.close();
  t.equal(code, 3);
  const fatal = output.split('\n').filter((l) => l.includes('"level":"fatal"'));
  t.equal(fatal.length, 1, 'one fatal line');
  t.match(fatal[0], /cannot bind/);
  t.match(fatal[0], String(port));
});
