// What a cluster rollout costs on top of the hosts' own work: three cluster
// nodes in this process (harness/jobs-node.ts: a scripted owner answers each
// host's update at once, so only the coordination is measured) share 64
// partitions on one nats-server; node a coordinates a rollout of
// CLUSTER_JOB_HOSTS hosts in batches of CLUSTER_JOB_BATCH. Per host: a
// dispatch (request/reply to its owner), the owner's claim and result writes,
// the coordinator's watch delivery and header writes. Reported: hosts/s, CPU
// per host of this process (coordinator and the three owners together) and of
// nats-server, and reads of the finished job back from the log (the first,
// then a page of its hosts from the finished-job cache, then a first read on
// another connection).
// Needs nats-server (apt-get install -y nats-server).
// Run: node dist/bench/cluster-jobs.js  (after a build)
import { connect } from '@nats-io/transport-node';
import { JobLog } from '../src/cluster/job-log.js';
import { readJob, readJobHosts } from '../src/cluster/job-reads.js';
import { startNats } from '../harness/nats.js';
import { until } from '../harness/daemon.js';
import { jobsSettings, startJobsNode } from '../harness/jobs-node.js';
import { envNumber } from './lib/bench-env.js';
import { processCpuMicros } from './lib/proc-cpu.js';

const HOSTS = Math.round(envNumber('CLUSTER_JOB_HOSTS', 3000));
const BATCH = Math.round(envNumber('CLUSTER_JOB_BATCH', 500));
const PARTITIONS = 64;
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const nats = await startNats();
try {
  const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startJobsNode(jobsSettings(nats.url, id, PARTITIONS, 10_000), { runMs: 1 })));
  await until(() => nodes.every((n) => n.node.status().partitions.length >= Math.floor(PARTITIONS / 3)), 30_000);
  const admin = await connect({ servers: nats.url });
  const log = await JobLog.open(admin, { maxAgeMs: 3_600_000, maxBytes: 1024 ** 3 });
  const hosts = Array.from({ length: HOSTS }, (_, i) => `bench-${i}`);

  const serverBefore = processCpuMicros(nats.pid());
  const before = cpu();
  const t0 = performance.now();
  const job = await nodes[0].jobs.rollouts.begin({ batch_size: BATCH }, hosts, { request_id: null, user: null });
  await until(async () => (await log.header(job.id))?.value.finished_at, 600_000, 50);
  const wallMs = performance.now() - t0;
  const procUs = cpu() - before;
  const serverUs = processCpuMicros(nats.pid()) - serverBefore;

  const r0 = performance.now();
  const view = await readJob(log, job.id);
  const readMs = performance.now() - r0;
  const p0 = performance.now();
  await readJobHosts(log, job.id, { state: 'completed', page: 2, per_page: 50 });
  const pageMs = performance.now() - p0;
  const fresh = await JobLog.open(admin, { maxAgeMs: 3_600_000, maxBytes: 1024 ** 3 });
  const f0 = performance.now();
  await readJob(fresh, job.id);
  const freshMs = performance.now() - f0;
  const runs = nodes.reduce((n, x) => n + x.runs.length, 0);
  console.log(
    JSON.stringify({
      bench: 'cluster-jobs',
      hosts: HOSTS,
      batch_size: BATCH,
      summary: view?.summary,
      runs,
      wall_s: +(wallMs / 1000).toFixed(2),
      hosts_per_s: Math.round(HOSTS / (wallMs / 1000)),
      cpu_us_per_host_nodes: Math.round(procUs / HOSTS),
      cpu_us_per_host_nats: Math.round(serverUs / HOSTS),
      read_job_first_ms: Math.round(readMs),
      read_hosts_page_cached_ms: Math.round(pageMs),
      read_job_other_node_ms: Math.round(freshMs),
    }),
  );
  if (view?.summary.completed !== HOSTS || runs !== HOSTS) throw new Error('not every host completed exactly once');
  await admin.close();
  await Promise.all(nodes.map((n) => n.stop()));
} finally {
  await nats.stop();
}
