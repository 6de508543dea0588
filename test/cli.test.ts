// The `tendhost` command line against a real daemon with simulated SSH hosts:
// every subcommand, --json parsed, the documented exit codes, one-line errors
// with the usage, --follow through a rollout with a failing and an
// unreachable host (its counts are GET /jobs/{id}'s), Ctrl-C while following,
// and `events` with filters and --since.
import t from 'tap';
import { COMMANDS } from '../src/cli/command-table.js';
import { until, type Daemon } from '../harness/daemon.js';
import { startSimSetup, type SimSetup } from './helpers/sim-daemon.js';
import { hostToml } from '../harness/simulator/toml.js';
import { cli, cliInProcess, startCli } from './helpers/cli.js';

const FAIL = 'sim-00003';
const DOWN = 'sim-00004';
/** Waits for a reboot after an update (auto_reboot off), so `reboot` has something to do. */
const MANUAL = 'sim-00002';
let setup: SimSetup;
let d: Daemon;
let url: string;

t.before(async () => {
  setup = await startSimSetup({ hosts: 8, mix: { debian: 100 }, rebootDownMs: 300, faults: [`upgrade-fail=${FAIL}`, `refused=${DOWN}`] }, {
    hostToml: (h, key) => hostToml(h, key) + (h.name === MANUAL ? '[host.policy]\nauto_reboot = false\n' : ''),
  });
  d = await setup.start();
  url = d.url;
});
t.teardown(() => setup?.stop());

const json = (s: string) => JSON.parse(s);

async function finished(id: string): Promise<any> {
  return until(async () => {
    const r = await d.get(`/jobs/${id}`);
    return r.body.finished_at ? r.body : null;
  }, 60_000, 100);
}

t.test('--help on every subcommand prints its usage; bad command lines exit 2 with one line and the usage', async (t) => {
  for (const c of COMMANDS) {
    const r = await cliInProcess([...c.name.split(' '), '--help']);
    t.equal(r.code, 0, `${c.name} --help exits 0`);
    t.match(r.stdout, new RegExp(`^usage: tendhost ${c.name}`), `${c.name} --help shows its usage`);
  }
  const top = await cliInProcess(['--help']);
  t.match(top.stdout, /Exit codes: 0 ok, 1 operation or job failed, 2 usage error, 3 cannot reach/);

  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['hosts', '--bogus'], /Unknown option '--bogus'/],
    [['hosts', '--state', 'sleepy'], /--state must be one of idle, /],
    [['hosts', '--per-page', '0'], /--per-page must be an integer 1\.\.200/],
    [['host'], /missing the host NAME/],
    [['host', 'a', 'b'], /unexpected argument "b"/],
    [['update'], /missing at least one host NAME/],
    [['fleet', 'update', '--max-failures', 'lots'], /--max-failures must be a count or a percentage/],
    [['events', '--type', 'Nope'], /--type must be one of HostUpdated, /],
    [['hosts', 'add', 'x', '--url', 'http://127.0.0.1:1'], /--addr is required/],
    [['health', '--url', 'ftp://x'], /--url must be an http/],
  ];
  for (const [args, msg] of cases) {
    const r = await cliInProcess(args);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, msg, `${args.join(' ')}: says why`);
    t.match(r.stderr, /usage: tendhost/, `${args.join(' ')}: shows the usage`);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    t.equal(r.stdout, '');
  }
  // The same through the program itself: exit status and streams.
  const real = await cli(['hosts', '--bogus']);
  t.equal(real.code, 2);
  t.match(real.stderr, /^tendhost hosts: Unknown option '--bogus'\nusage: tendhost hosts /);
  const none = await cli([]);
  t.equal(none.code, 2, 'no command: the list of commands, exit 2');
  t.match(none.stderr, /^usage: tendhost COMMAND/);
});

t.test('reads: health, hosts with filters and paging, host, inventory (--json parsed and tables)', async (t) => {
  const h = await cli(['health', '--json', '--url', url]);
  t.equal(h.code, 0);
  t.match(json(h.stdout), { status: 'healthy', hosts: 8 });

  const env = await cli(['health'], { TENDHOST_URL: url });
  t.equal(env.code, 0, 'TENDHOST_URL is used');
  t.match(env.stdout, /^healthy {2}version /);

  const page = json((await cli(['hosts', '--json', '--per-page', '3', '--page', '2', '--url', url])).stdout);
  t.same(page.data.map((x: any) => x.name), ['sim-00004', 'sim-00005', 'sim-00006']);
  t.match(page.pagination, { page: 2, per_page: 3, total_items: 8, total_pages: 3 });

  const tagged = json((await cli(['hosts', '--json', '--tag', 'debian', '--tag', 'sim', '--search', 'sim-0000', '--url', url])).stdout);
  t.equal(tagged.pagination.total_items, 8, 'tags (all of them) and a name prefix');
  const none = json((await cli(['hosts', '--json', '--tag', 'debian', '--tag', 'nope', '--url', url])).stdout);
  t.equal(none.pagination.total_items, 0, 'every tag must match');

  const table = await cli(['hosts', '--url', url]);
  t.equal(table.code, 0);
  t.match(table.stdout, /^NAME +STATE +PENDING +TAGS/);
  t.match(table.stdout, /sim-00008/);
  t.match(table.stdout, /page 1\/1 \(8 hosts\)/);

  const one = await cli(['host', 'sim-00001', '--json', '--url', url]);
  t.match(json(one.stdout), { name: 'sim-00001', tags: ['debian', 'sim'] });
  const human = await cli(['host', 'sim-00001', '--url', url]);
  t.match(human.stdout, /^name +sim-00001\naddress /);

  const inv = await cli(['inventory', 'sim-00001', '--refresh', '--json', '--url', url]);
  t.equal(inv.code, 0, inv.stderr);
  t.match(json(inv.stdout), { system: { hostname: String } });
  const invHuman = await cli(['inventory', 'sim-00001', '--url', url]);
  t.match(invHuman.stdout, /^host +\S+/);
  t.match(invHuman.stdout, /\npackages \d+, containers \d+/);
});

t.test('exit codes: 4 not found, 3 unreachable, daemon errors in one line with code and request id', async (t) => {
  const nf = await cli(['host', 'nope', '--url', url]);
  t.equal(nf.code, 4);
  t.match(nf.stderr, /^tendhost host: HOST_NOT_FOUND: .*\(request \S+\)\nusage: tendhost host NAME /, 'one line: code, message, request id; then the usage');
  t.equal((await cli(['job', 'no-such-job', '--url', url])).code, 4);
  t.equal((await cli(['inventory', 'nope', '--url', url])).code, 4);

  const gone = await cli(['health', '--url', 'http://127.0.0.1:1', '--timeout', '3']);
  t.equal(gone.code, 3);
  t.match(gone.stderr, /^tendhost health: UNREACHABLE: cannot reach http:\/\/127\.0\.0\.1:1/);
  t.equal((await cli(['update', 'sim-00001', '--follow', '--url', 'http://127.0.0.1:1'])).code, 3, 'follow fails fast too');
  t.equal((await cli(['events', '--url', 'http://127.0.0.1:1'])).code, 3);
});

t.test('update (one and several hosts), jobs, job, retry, ack, reboot --follow', async (t) => {
  const dry = await cli(['update', 'sim-00001', '--dry-run', '--json', '--url', url]);
  t.equal(dry.code, 0);
  const { job_id } = json(dry.stdout);
  const done = await finished(job_id);
  t.equal(done.dry_run, true);

  const j = await cli(['job', job_id, '--json', '--url', url]);
  t.equal(j.code, 0);
  const jb = json(j.stdout);
  t.match(jb, { id: job_id, kind: 'update', state: 'succeeded', summary: { total: 1, completed: 1 } });
  t.equal(jb.hosts.data[0].host, 'sim-00001');
  t.match((await cli(['job', job_id, '--url', url])).stdout, new RegExp(`^job ${job_id} update \\(dry run\\) succeeded`));

  const list = json((await cli(['jobs', '--json', '--host', 'sim-00001', '--url', url])).stdout);
  t.ok(list.data.some((x: any) => x.id === job_id), 'jobs --host lists it');
  t.match((await cli(['jobs', '--url', url])).stdout, /^ID +KIND +STATE +CREATED/);

  const many = await cli(['update', 'sim-00005', 'sim-00006', '--dry-run', '--follow', '--url', url]);
  t.equal(many.code, 0, many.stderr);
  t.equal(many.stdout.match(/^job \S+ update \(dry run\) succeeded/gm)?.length, 2, 'one summary per job');
  t.match(many.stdout, /sim-00005: idle -> querying/, 'one plain line per event without a TTY');

  const failing = await cli(['update', FAIL, '--follow', '--url', url]);
  t.equal(failing.code, 1, 'the job failed: exit 1');
  t.match(failing.stdout, /update failed/);
  t.match(failing.stdout, new RegExp(`${FAIL} +failed`), 'the summary names the failed host');
  const host = json((await cli(['host', FAIL, '--json', '--url', url])).stdout);
  t.equal(host.state, 'failed');

  const ack = await cli(['ack', FAIL, '--url', url]);
  t.equal(ack.code, 0, ack.stderr);
  t.match(ack.stdout, /^job \S+ started/);
  await finished(ack.stdout.split(' ')[1]);
  t.match(json((await cli(['host', FAIL, '--json', '--url', url])).stdout), { state: 'failed', failed: { acknowledged: true } }, 'acknowledged');
  const retry = await cli(['retry', FAIL, '--json', '--url', url]);
  t.equal(retry.code, 0, retry.stderr);
  t.equal((await finished(json(retry.stdout).job_id)).kind, 'retry');

  const pending = await cli(['update', MANUAL, '--follow', '--url', url]);
  t.equal(pending.code, 0, pending.stderr);
  t.equal(json((await cli(['host', MANUAL, '--json', '--url', url])).stdout).state, 'waiting_reboot');

  const reboot = await cli(['reboot', MANUAL, '--follow', '--url', url]);
  t.equal(reboot.code, 0, reboot.stderr);
  t.match(reboot.stdout, new RegExp(`${MANUAL}: \\w+ -> rebooting`));
  t.match(reboot.stdout, /^job \S+ reboot succeeded/m);

  const refused = await cli(['ack', 'sim-00001', '--url', url]);
  t.equal(refused.code, 1, 'a refused operation exits 1');
  t.match(refused.stderr, /^tendhost ack: HOST_NOT_FAILED: /);
});

t.test('hosts add / remove, host-key accept', async (t) => {
  const add = await cli(['hosts', 'add', 'extra-1', '--addr', '127.0.0.1', '--port', '1', '--tag', 'extra', '--no-auto-reboot', '--json', '--url', url]);
  t.equal(add.code, 0, add.stderr);
  t.match(json(add.stdout), { name: 'extra-1', addr: '127.0.0.1', tags: ['extra'] });
  t.equal(json((await cli(['hosts', '--tag', 'extra', '--json', '--url', url])).stdout).pagination.total_items, 1);
  const dup = await cli(['hosts', 'add', 'extra-1', '--addr', '127.0.0.1', '--url', url]);
  t.equal(dup.code, 1, 'a conflict exits 1');
  const badAddr = await cli(['hosts', 'add', 'extra-2', '--addr', 'not an address!', '--url', url]);
  t.equal(badAddr.code, 2, 'a value the daemon refuses (400) is a usage error');
  t.match(badAddr.stderr, /VALIDATION_FAILED/);
  const rm = await cli(['hosts', 'remove', 'extra-1', '--force', '--url', url]);
  t.equal(rm.code, 0, rm.stderr);
  t.equal((await cli(['host', 'extra-1', '--url', url])).code, 4, 'gone');
  t.equal((await cli(['hosts', 'remove', 'extra-1', '--url', url])).code, 4);

  const accept = await cli(['host-key', 'accept', 'sim-00001', '--url', url]);
  t.equal(accept.code, 1, 'no changed key to accept: the daemon refuses, exit 1');
  t.match(accept.stderr, /^tendhost host-key accept: NOTHING_TO_ACCEPT: /);
  t.equal((await cli(['host-key', 'accept', 'nope', '--url', url])).code, 4);
});

t.test('fleet update --follow through a failing and an unreachable host: counts are GET /jobs/{id}', async (t) => {
  const r = await cli(['fleet', 'update', '--batch-size', '3', '--follow', '--url', url]);
  t.equal(r.code, 1, 'failures: exit 1');
  const id = /^following job (\S+)/m.exec(r.stdout)?.[1] as string;
  t.ok(id, 'names the job');
  t.match(r.stdout, new RegExp(`fleet update ${id}: batch 1: `), 'one line per batch progress');
  const job = (await d.get(`/jobs/${id}`)).body;
  const s = job.summary;
  t.ok(s.failed >= 1 && s.unreachable >= 1, `a failed and an unreachable host (${JSON.stringify(s)})`);
  t.match(r.stdout, new RegExp(`^job ${id} fleet_update ${job.state} in [\\d.]+ s: completed ${s.completed}, failed ${s.failed}, unreachable ${s.unreachable}, skipped ${s.skipped} of ${s.total}`, 'm'), 'the summary has the daemon’s counts');
  t.match(r.stdout, new RegExp(`${FAIL} +failed`));
  t.match(r.stdout, new RegExp(`${DOWN} +unreachable`));

  const asJson = await cli(['fleet', 'update', '--dry-run', '--canary', '1', '--max-failures', '50%', '--max-unreachable', '5', '--delay', '0', '--wait-for-window', '--tag', 'debian', '--exclude', DOWN, '--follow', '--json', '--url', url]);
  const final = json(asJson.stdout);
  t.same(final, (await d.get(`/jobs/${final.id}`)).body, '--follow --json prints the final job as GET /jobs/{id} has it');
  t.equal(final.summary.total, 7, 'the filter and exclusion went through');
  t.equal(final.dry_run, true);
});

t.test('Ctrl-C stops following without cancelling and says how to cancel; cancel', async (t) => {
  const follow = startCli(['fleet', 'update', '--dry-run', '--batch-size', '1', '--delay', '30', '--follow', '--url', url]);
  await until(() => /fleet update \S+: batch 1: /.test(follow.out()), 30_000);
  const id = /following job (\S+)/.exec(follow.out())?.[1] as string;
  follow.proc.kill('SIGINT');
  const r = await follow.done;
  t.equal(r.code, 1);
  t.match(r.stderr, `tendhost: stopped following job ${id}; it keeps running. Cancel it with: tendhost cancel ${id}`);
  t.equal((await d.get(`/jobs/${id}`)).body.state, 'running', 'the job still runs');

  const c = await cli(['cancel', id, '--json', '--url', url]);
  t.equal(c.code, 0, c.stderr);
  t.equal(json(c.stdout).id, id);
  t.equal((await finished(id)).state, 'cancelled');
  const again = await cli(['cancel', id, '--url', url]);
  t.equal(again.code, 1, 'cancelling a finished job is refused');
  t.match(again.stderr, /JOB_FINISHED/);
  t.equal((await cli(['cancel', 'nope', '--url', url])).code, 4);
});

t.test('events: filters, --since from the replay buffer, --limit, --json', async (t) => {
  const first = await cli(['events', '--since', '0', '--limit', '3', '--json', '--url', url]);
  t.equal(first.code, 0, first.stderr);
  t.same(first.stdout.trim().split('\n').map((l) => json(l).seq), [1, 2, 3], '--since 0: the first three events');

  const tail = startCli(['events', '--host', 'sim-00007', '--type', 'HostStateChanged', '--limit', '2', '--url', url]);
  await until(() => /connected at seq/.test(tail.err()), 15_000);
  await cli(['update', 'sim-00008', '--dry-run', '--url', url]);
  await cli(['update', 'sim-00007', '--dry-run', '--url', url]);
  const r = await tail.done;
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, 2);
  for (const l of lines) t.match(l, /^\d\d:\d\d:\d\d #\d+ sim-00007: \w+ -> \w+$/, 'only the filtered host and type');
});
