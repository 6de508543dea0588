// The state store's schema, versioned. Migrations run in order at start; a
// database written by a newer tendhost is refused, never silently downgraded.
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError } from './store-error.js';

type Db = BetterSqlite3.Database;

/** Each entry moves the schema from version i to i + 1. */
export const MIGRATIONS: Array<(db: Db) => void> = [
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE registered_hosts (name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE host_status (name TEXT PRIMARY KEY, status TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at TEXT NOT NULL, job TEXT NOT NULL);
      CREATE INDEX jobs_created ON jobs (created_at);
      CREATE TABLE events (seq INTEGER PRIMARY KEY, event TEXT NOT NULL);
    `);
  },
  // 1 → 2: a job's per-host results get rows of their own, so a result on a
  // 10,000-host rollout writes one small row instead of the whole job again.
  (db) => {
    db.exec(`
      CREATE TABLE job_hosts (job_id TEXT NOT NULL, host TEXT NOT NULL, result TEXT NOT NULL, PRIMARY KEY (job_id, host));
    `);
    const insert = db.prepare('INSERT INTO job_hosts (job_id, host, result) VALUES (?, ?, ?)');
    const update = db.prepare('UPDATE jobs SET job = ? WHERE id = ?');
    for (const row of db.prepare('SELECT id, job FROM jobs').all() as Array<{ id: string; job: string }>) {
      const job = JSON.parse(row.job) as { hosts?: Array<{ host: string }> };
      for (const h of job.hosts ?? []) insert.run(row.id, h.host, JSON.stringify(h));
      update.run(JSON.stringify({ ...job, hosts: [] }), row.id);
    }
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Bring the database to SCHEMA_VERSION; returns the version it had. */
export function migrate(db: Db, file: string): number {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new StoreError(
      file,
      `state database has schema version ${from}, newer than this tendhost knows (${SCHEMA_VERSION}); ` +
        'run the newer tendhost or restore a backup — refusing to downgrade',
    );
  }
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      MIGRATIONS[v](db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return from;
}
