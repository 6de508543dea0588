// A cluster node in a process of its own, for the tests and benchmarks that
// SIGKILL one: it joins the partition ownership and prints a JSON line on
// every hook and whenever what it owns changes. Runs compiled
// (dist/harness/cluster-node.js; build first).
// argv: NATS_URL NODE_ID PARTITIONS LEASE_TTL_S
import { connectCluster } from '../src/cluster/connect.js';
import { PartitionOwnership } from '../src/cluster/ownership.js';

const [url, nodeId, partitions, ttlS] = process.argv.slice(2);
if (!url || !nodeId || !partitions || !ttlS) {
  process.stderr.write('usage: cluster-node NATS_URL NODE_ID PARTITIONS LEASE_TTL_S\n');
  process.exit(2);
}
const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const nc = await connectCluster({ servers: [url], auth: { kind: 'none' }, tls_ca_file: null, node_id: nodeId });
const own = await PartitionOwnership.start(
  nc,
  { nodeId, partitions: Number(partitions), ttlMs: Number(ttlS) * 1000 },
  {
    isBusy: () => false,
    acquired: (p) => say({ event: 'acquired', p }),
    releasing: (p) => say({ event: 'releasing', p }),
    lost: (p, reason) => say({ event: 'lost', p, reason }),
    fatal: (err) => {
      say({ event: 'fatal', message: err.message });
      process.exit(3);
    },
  },
);
say({ event: 'joined', instance: own.instance });
let last = '';
setInterval(() => {
  const owned = own.owned();
  if (JSON.stringify(owned) !== last) {
    last = JSON.stringify(owned);
    say({ event: 'owned', owned, at: Date.now() });
  }
}, 50);
process.on('SIGTERM', () => {
  void own
    .stop({ handBack: true })
    .then(() => nc.close())
    .finally(() => process.exit(0));
});
