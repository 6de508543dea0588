// The store's one owner: a worker thread that holds the SQLite database open
// (exclusively) and applies each batch from the front process in a single
// transaction, so request handling never waits on disk.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { FromWriter, ToWriter, WriteBatch } from './store-messages.js';
import { lowerThisThreadPriority } from '../../common/thread-priority.js';
import { nameThisThread } from '../../common/thread-name.js';

const port = parentPort;
if (!port) throw new Error('store-writer must run as a worker thread');

const { file, nice } = workerData as { file: string; nice: number };
lowerThisThreadPriority(nice);
nameThisThread('store-writer');
const send = (m: FromWriter) => port.postMessage(m);

let db: Database.Database;
try {
  db = new Database(file, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Hold the lock for the daemon's lifetime: a second daemon on the same state dir fails at once.
  db.pragma('locking_mode = EXCLUSIVE');
  db.exec('BEGIN IMMEDIATE; COMMIT;');
} catch (err) {
  send({ kind: 'error', message: (err as Error).message });
  process.exit(1);
}

const upsertStatus = db.prepare('INSERT INTO host_status (name, status, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at');
const deleteStatus = db.prepare('DELETE FROM host_status WHERE name = ?');
const upsertJob = db.prepare('INSERT INTO jobs (id, state, created_at, job) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state, job = excluded.job');
const upsertJobHost = db.prepare('INSERT INTO job_hosts (job_id, host, result) VALUES (?, ?, ?) ON CONFLICT(job_id, host) DO UPDATE SET result = excluded.result');
const trimJobHosts = db.prepare('DELETE FROM job_hosts WHERE job_id NOT IN (SELECT id FROM jobs)');
const insertEvent = db.prepare('INSERT OR REPLACE INTO events (seq, event) VALUES (?, ?)');
const trimEvents = db.prepare('DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?');
const trimJobs = db.prepare(
  `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state NOT IN ('queued', 'running')
     ORDER BY created_at ASC LIMIT MAX(0, (SELECT COUNT(*) FROM jobs) - ?))`,
);
const upsertRegistered = db.prepare('INSERT INTO registered_hosts (name, config, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET config = excluded.config');
const deleteRegistered = db.prepare('DELETE FROM registered_hosts WHERE name = ?');

const apply = db.transaction((b: WriteBatch) => {
  const now = new Date().toISOString();
  for (const [name, json] of b.statuses) upsertStatus.run(name, json, now);
  for (const name of b.removed_statuses) deleteStatus.run(name);
  for (const [id, state, created, json] of b.jobs) upsertJob.run(id, state, created, json);
  for (const [id, host, json] of b.job_hosts) upsertJobHost.run(id, host, json);
  for (const [seq, json] of b.events) insertEvent.run(seq, json);
  for (const [name, json] of b.registered) upsertRegistered.run(name, json, now);
  for (const name of b.unregistered) deleteRegistered.run(name);
  if (b.events.length > 0) trimEvents.run(b.event_retention);
  if (b.jobs.length > 0 && trimJobs.run(b.job_retention).changes > 0) trimJobHosts.run();
});

port.on('message', (m: ToWriter) => {
  if (m.kind === 'batch') {
    const t0 = performance.now();
    try {
      apply(m.batch);
      const b = m.batch;
      send({ kind: 'written', id: b.id, ms: performance.now() - t0, rows: b.statuses.length + b.jobs.length + b.job_hosts.length + b.events.length });
    } catch (err) {
      send({ kind: 'error', message: (err as Error).message, id: m.batch.id });
    }
  } else if (m.kind === 'close') {
    db.close();
    send({ kind: 'closed' });
    port.close();
  }
});
send({ kind: 'ready' });
