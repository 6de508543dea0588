// A state store that cannot be opened stops the daemon with one clear line and
// exit code 5: garbage in the file, a second daemon on the same state_dir, a
// database written by a newer tendhost (never silently downgraded).
import t from 'tap';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runToExit, spawnDaemon, writeConfig } from '../harness/daemon.js';

const HOST = '[[host]]\nname = "web-1"\naddr = "127.0.0.1"\nport = 1\n';

t.test('garbage in state/tendhost.db: exit 5, the message names the file and says corrupted', async (t) => {
  const { dir, file } = writeConfig({ toml: HOST });
  mkdirSync(join(dir, 'state'));
  const db = join(dir, 'state', 'tendhost.db');
  writeFileSync(db, Buffer.concat([Buffer.from('this is not sqlite at all\n'), Buffer.alloc(8192, 0x5a)]));
  const { code, output } = await runToExit(file);
  t.equal(code, 5, 'exit code 5');
  t.match(output, `state store ${db}`, 'names the file');
  t.match(output, /corrupted/, 'says it is corrupted');
  t.notMatch(output, /listening/, 'never served');
  t.equal(readFileSync(db, 'utf8').slice(0, 25), 'this is not sqlite at all', 'the file is left as it was for inspection');
});

t.test('a second daemon on the same state_dir: exit 5 while the first keeps running', async (t) => {
  const { dir, file } = writeConfig({ toml: HOST });
  const first = await spawnDaemon(file, dir);
  t.teardown(() => first.stop());
  t.equal((await first.get('/hosts/web-1')).status, 200);
  const { code, output } = await runToExit(file);
  t.equal(code, 5, 'exit code 5');
  t.match(output, join(dir, 'state', 'tendhost.db'), 'names the file');
  t.match(output, /locked by another process/, 'says it is locked');
  t.equal((await first.get('/hosts/web-1')).status, 200, 'the first daemon still serves');
  t.equal((await first.get('/readyz')).status, 200, 'and is still ready');
  t.equal(await first.stop(), 0, 'and stops cleanly');
  // Once the first is gone the file opens again.
  const again = await spawnDaemon(file, dir);
  t.equal((await again.get('/hosts/web-1')).status, 200, 'a later daemon opens the same state_dir');
  t.equal(await again.stop(), 0);
});

t.test('a database from a newer tendhost (schema version 99): refused with exit 5, never downgraded', async (t) => {
  const { dir, file } = writeConfig({ toml: HOST });
  // A normal run creates the file at the current schema version.
  const d = await spawnDaemon(file, dir);
  t.equal(await d.stop(), 0);
  const path = join(dir, 'state', 'tendhost.db');
  const db = new Database(path);
  const current = db.pragma('user_version', { simple: true }) as number;
  t.ok(current >= 1, `the daemon wrote schema version ${current}`);
  db.pragma('user_version = 99');
  db.close();

  const { code, output } = await runToExit(file);
  t.equal(code, 5, 'exit code 5');
  t.match(output, path, 'names the file');
  t.match(output, /schema version 99, newer than this tendhost knows/, 'says the schema is newer');
  t.match(output, /refusing to downgrade/);
  const after = new Database(path, { readonly: true });
  t.equal(after.pragma('user_version', { simple: true }), 99, 'the file keeps its version');
  after.close();
});

t.test('state comes back across a clean restart: registered host, statuses, jobs', async (t) => {
  const { dir, file } = writeConfig({ toml: HOST });
  const d = await spawnDaemon(file, dir);
  const reg = await d.request('POST', '/hosts', { name: 'db-7', addr: '127.0.0.9', tags: ['db'] });
  t.equal(reg.status, 201);
  // Refused connection: the query fails fast and the host ends failed with a reason.
  const q = await d.request('POST', '/hosts/web-1/update', { dry_run: true });
  t.equal(q.status, 202);
  let failed: any;
  for (let i = 0; i < 200; i++) {
    failed = (await d.get('/hosts/web-1')).body;
    if (failed.state === 'failed' && failed.job_id === null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(failed.state, 'failed');
  const job = (await d.get(`/jobs/${q.body.job_id}`)).body;
  t.equal(await d.stop(), 0);

  const d2 = await spawnDaemon(file, dir);
  t.teardown(() => d2.stop());
  const db7 = await d2.get('/hosts/db-7');
  t.equal(db7.status, 200, 'the registered host is back');
  t.same(db7.body.tags, ['db']);
  t.equal(db7.body.addr ?? '127.0.0.9', '127.0.0.9');
  const web = (await d2.get('/hosts/web-1')).body;
  t.equal(web.state, 'failed', 'the failed status is back');
  t.equal(web.error, failed.error, 'with its error');
  t.same(web.failed, failed.failed, 'and its failed context');
  const job2 = (await d2.get(`/jobs/${q.body.job_id}`)).body;
  t.same(job2, job, 'the job is back unchanged');
  const del = await d2.request('DELETE', '/hosts/db-7');
  t.equal(del.status, 204);
  t.equal(await d2.stop(), 0);
  const d3 = await spawnDaemon(file, dir);
  t.teardown(() => d3.stop());
  t.equal((await d3.get('/hosts/db-7')).status, 404, 'a removed registered host stays removed');
});
