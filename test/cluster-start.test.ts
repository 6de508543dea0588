// Starting a daemon as a cluster node, and what stops it at start: a
// [cluster] section with enabled = false is a single daemon as without it; a
// node whose partition count differs from the cluster's is refused with exit 2
// naming the key (its hosts would hash into other partitions than everyone
// else's), before it listens; so is one whose credentials NATS refuses. A node
// started while NATS is down says so and starts once it is up.
import t from 'tap';
import { connect } from '@nats-io/transport-node';
import { RegistryKv } from '../src/cluster/registry-kv.js';
import { runToExit, spawnDaemon, writeConfig } from '../harness/daemon.js';
import { skipWithoutNats, startNats } from '../harness/nats.js';

t.test('enabled = false is a single daemon, as without the section', async (t) => {
  const { file } = writeConfig({ toml: '[cluster]\nenabled = false\n' });
  // It starts and listens; runToExit stops it after a moment.
  const r = await runToExit(file, {}, 20_000);
  t.match(r.output, /"msg":"listening"/, 'it listens');
  t.notMatch(r.output, /cluster/, 'no cluster at all');
});

t.test('a node with another partition count than the cluster is refused at start', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const admin = await connect({ servers: nats.url });
  t.teardown(() => admin.close());
  await RegistryKv.open(admin, { partitions: 16, nodeId: 'first' });
  const { file } = writeConfig({ toml: `[cluster]\nenabled = true\nservers = ["${nats.url}"]\nnode_id = "n1"\npartitions = 32\n` });
  const r = await runToExit(file);
  t.equal(r.code, 2, 'exit 2, like every config error');
  t.match(r.output, 'cluster.partitions', 'names the key');
  t.match(r.output, /started with 16/, 'and the cluster\'s value');
  t.notMatch(r.output, /"msg":"listening"/, 'never listens');
});

t.test('credentials NATS refuses stop the start with exit 2 naming the key', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats({ token: 'the-right-one' });
  t.teardown(() => nats.stop());
  const { file } = writeConfig({ toml: `[cluster]\nenabled = true\nservers = ["${nats.url}"]\nnode_id = "n1"\ntoken = "a-wrong-one"\n` });
  const r = await runToExit(file);
  t.equal(r.code, 2, 'exit 2');
  t.match(r.output, 'cluster.token', 'names the key');
  t.notMatch(r.output, /a-wrong-one/, 'never prints the secret');
  t.notMatch(r.output, /"msg":"listening"/, 'never listens');
});

t.test('a node started while NATS is down waits, says so, and starts once NATS is up', { skip: skipWithoutNats() }, async (t) => {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const back = nats.restart({ downMs: 10_000 });
  await new Promise((r) => setTimeout(r, 300));
  const { dir, file } = writeConfig({ toml: `[cluster]\nenabled = true\nservers = ["${nats.url}"]\nnode_id = "n1"\npartitions = 4\nlease_ttl_s = 3\n` });
  const d = await spawnDaemon(file, dir);
  t.teardown(() => d.stop('SIGKILL'));
  await back;
  t.ok(d.logs.some((l) => l.msg === 'cluster: NATS not reachable yet; retrying'), 'it said it was waiting for NATS');
  await d.waitForLog((l) => l.msg === 'cluster: joined', 15_000);
  t.match((await d.get('/health')).body.cluster, { node_id: 'n1', connected: true }, 'then joined');
});
