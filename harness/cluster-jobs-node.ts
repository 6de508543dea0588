// A cluster node with its job side (jobs-node.ts) in a process of its own, so
// a test can SIGKILL it mid-rollout. It prints one JSON line per event:
// `ready`, `run` (an update its owner side started: job, host), `job` (the id
// of a rollout it was asked to start). A line on stdin
// `{"request": FleetUpdateRequest, "hosts": [names]}` starts a rollout here.
// Runs compiled (dist/harness/cluster-jobs-node.js; build first).
// argv: NATS_URL NODE_ID PARTITIONS LEASE_TTL_S RUN_MS
import { createInterface } from 'node:readline';
import { jobsSettings, startJobsNode } from './jobs-node.js';

const [url, nodeId, partitions, ttlS, runMs] = process.argv.slice(2);
if (!url || !nodeId || !partitions || !ttlS || !runMs) {
  process.stderr.write('usage: cluster-jobs-node NATS_URL NODE_ID PARTITIONS LEASE_TTL_S RUN_MS\n');
  process.exit(2);
}
const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const node = await startJobsNode(jobsSettings(url, nodeId, Number(partitions), Number(ttlS) * 1000), {
  runMs: Number(runMs),
  onRun: (job, host) => say({ event: 'run', job, host }),
});
say({ event: 'ready', instance: node.node.instance });
for await (const line of createInterface({ input: process.stdin })) {
  const { request, hosts } = JSON.parse(line);
  const job = await node.jobs.rollouts.begin(request, hosts, { request_id: 'req-proc', user: 'tester' });
  say({ event: 'job', id: job.id });
}
