// [cluster] enabled = true is refused at start (exit 2 naming the key) until
// the daemon drives src/cluster/: running alone while the admin asked for a
// cluster would let two daemons drive the same hosts.
import t from 'tap';
import { runToExit, writeConfig } from '../harness/daemon.js';

t.test('a daemon asked to join a cluster refuses to start alone', async (t) => {
  const { file } = writeConfig({ toml: '[cluster]\nenabled = true\nservers = ["nats://127.0.0.1:4222"]\n' });
  const r = await runToExit(file);
  t.equal(r.code, 2, 'exit 2, like every config error');
  t.match(r.output, 'cluster.enabled', 'names the key');
  t.match(r.output, /cannot join a cluster yet/, 'and says why');
  t.notMatch(r.output, /listening/, 'never listens');
});

t.test('enabled = false is a single daemon, as without the section', async (t) => {
  const { file } = writeConfig({ toml: '[cluster]\nenabled = false\n' });
  // It starts and listens; runToExit stops it after a moment.
  const r = await runToExit(file, {}, 8_000);
  t.match(r.output, /"msg":"listening"/, 'it listens');
  t.notMatch(r.output, /cluster\.enabled/, 'no cluster complaint');
});
