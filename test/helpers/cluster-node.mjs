// A cluster node in a process of its own (for the SIGKILL tests): joins the
// partition ownership of the built tree (dist/, so build first) and prints a
// JSON line whenever what it owns changes, and on every hook.
// argv: NATS_URL NODE_ID PARTITIONS LEASE_TTL_S
import { connectCluster } from '../../dist/src/cluster/connect.js';
import { PartitionOwnership } from '../../dist/src/cluster/ownership.js';

const [url, nodeId, partitions, ttlS] = process.argv.slice(2);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
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
  const owned = JSON.stringify(own.owned());
  if (owned !== last) {
    last = owned;
    say({ event: 'owned', owned: own.owned(), at: Date.now() });
  }
}, 50);
process.on('SIGTERM', async () => {
  await own.stop({ handBack: true });
  await nc.close();
  process.exit(0);
});
