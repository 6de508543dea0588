// Reading a 10,000-host rollout's job (issue: large jobs stay cheap to read).
// What GET /jobs/{id} and GET /jobs/{id}/hosts do in the front process for
// one request — build the answer and serialise it — timed on a job record
// shaped like a finished 10,000-host rollout, beside the same run's baseline:
// serialising the whole record, which is what a job read cost before it was
// paged. (uWS's own write of the bytes is the same few µs either way.)
//
//   npx tsc && node dist/bench/job-reads.js        JOB_READS_HOSTS=100000 …
//
// Goals: any job read ≤ 64 KB and ≤ 1 ms of front CPU at 10,000 hosts.
import { jobHostsPage, jobView } from '../src/jobs/job-view.js';
import type { JobHostResult, JobRecord } from '../common/schemas/job.js';

const HOSTS = Number(process.env.JOB_READS_HOSTS ?? 10_000);
const ROUNDS = 200;

function rolloutRecord(hosts: number): JobRecord {
  const states: JobHostResult['state'][] = ['completed', 'completed', 'completed', 'completed', 'failed', 'unreachable', 'skipped'];
  const finished = new Date().toISOString();
  return {
    id: '3f1c2a9e-5d0b-4a57-9a63-1d2b3c4d5e6f',
    kind: 'fleet_update',
    state: 'failed',
    dry_run: false,
    created_at: finished,
    started_at: finished,
    finished_at: finished,
    request_id: 'req-1',
    user: 'ops',
    error: null,
    hosts: Array.from({ length: hosts }, (_, i) => {
      const state = states[i % states.length];
      return {
        host: `web-${String(i).padStart(6, '0')}.dc1.example.net`,
        state,
        host_state: state === 'failed' ? 'failed' : 'idle',
        error: state === 'failed' ? 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)' : state === 'unreachable' ? 'connect ECONNREFUSED' : null,
        code: state === 'failed' ? 'PACKAGE_MANAGER_LOCKED' : state === 'unreachable' ? 'SSH_CONNECTION_REFUSED' : null,
        reason: state === 'skipped' ? 'outside maintenance window 03:00-04:00' : null,
        finished_at: finished,
      };
    }),
  };
}

/** Median CPU µs of one call of `read` (which returns the bytes sent), and its size. */
function measure(read: () => string): { cpuUs: number; bytes: number } {
  const bytes = Buffer.byteLength(read());
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.cpuUsage();
    read();
    const d = process.cpuUsage(t0);
    samples.push(d.user + d.system);
  }
  samples.sort((a, b) => a - b);
  return { cpuUs: samples[Math.floor(samples.length / 2)], bytes };
}

const job = rolloutRecord(HOSTS);
const lastPage = Math.ceil(HOSTS / 200);
const reads: Array<[string, () => string]> = [
  ['baseline: the whole record (before paging)', () => JSON.stringify(job)],
  ['GET /jobs/{id}', () => JSON.stringify(jobView(job))],
  ['GET /jobs/{id}/hosts?per_page=200 (first page)', () => JSON.stringify(jobHostsPage(job, { page: 1, per_page: 200 }))],
  [`GET /jobs/{id}/hosts?per_page=200&page=${lastPage} (last)`, () => JSON.stringify(jobHostsPage(job, { page: lastPage, per_page: 200 }))],
  ['GET /jobs/{id}/hosts?state=failed&page=5&per_page=200', () => JSON.stringify(jobHostsPage(job, { state: 'failed', page: 5, per_page: 200 }))],
];

console.log(`job reads of a ${HOSTS.toLocaleString('en')}-host rollout, median of ${ROUNDS} (goal: ≤ 64 KB and ≤ 1000 µs CPU each)`);
for (const [label, read] of reads) {
  const r = measure(read);
  const baseline = label.startsWith('baseline');
  const verdict = baseline ? '' : r.bytes <= 64 * 1024 && r.cpuUs <= 1000 ? '  meets goal' : '  MISSES goal';
  console.log(`  ${label.padEnd(58)} ${(r.bytes / 1024).toFixed(1).padStart(8)} KB ${String(r.cpuUs).padStart(7)} µs${verdict}`);
}
