// `--follow` on a real terminal (tmux): the live display redraws in place
// (one "overall" line, not a scroll of them), shows per-batch counts and
// hosts changing state, and ends with the daemon's counts; Ctrl-C typed into
// the terminal stops following and says how to cancel.
import t from 'tap';
import { until, type Daemon } from '../harness/daemon.js';
import { startSimSetup, type SimSetup } from './helpers/sim-daemon.js';
import { CLI_MAIN } from './helpers/cli.js';
import { openTerminal, tmuxAvailable, type Terminal } from './helpers/tmux.js';

if (!(await tmuxAvailable())) {
  // CI installs tmux (.ci/packages.txt): there its absence is a failure, not a skip.
  if (process.env.CI === 'true') t.fail('tmux is not installed');
  else t.skip('tmux is not installed', async () => {});
} else {
  let setup: SimSetup;
  let d: Daemon;
  const terms: Terminal[] = [];
  t.before(async () => {
    setup = await startSimSetup({ hosts: 8, mix: { debian: 100 }, rebootDownMs: 300, faults: ['upgrade-fail=sim-00003', 'refused=sim-00004'] });
    d = await setup.start();
  });
  t.teardown(async () => {
    for (const term of terms) term.close();
    await setup?.stop();
  });

  const shell = (args: string) => `${process.execPath} ${CLI_MAIN} ${args} --url ${d.url}; echo "EXIT=$?"; sleep 120`;

  t.test('fleet update --follow: live progress per batch and overall, then the summary with GET /jobs/{id} counts', async (t) => {
    const term = openTerminal(shell('fleet update --batch-size 2 --delay 1 --follow'), { width: 120, height: 40, joinWrapped: true });
    terms.push(term);
    const mid = await term.waitFor((s) => /^batch [1-9]\d* +completed \d+ +failed \d+ +unreachable \d+ +skipped \d+/m.test(s) && !/EXIT=/.test(s), 'a batch line while the rollout runs');
    t.match(mid, /^job \S+ fleet_update: running .*Ctrl-C stops following; the job keeps running/m, 'a header naming the job');
    t.match(mid, /^overall +\[[#.]{24}\] \d\/8 +completed \d+ +failed \d+ +unreachable \d+ +skipped \d+ +in progress \d+/m, 'overall progress');
    const busy = await term.waitFor((s) => /^working on [1-9]\d* hosts?\n +sim-\d{5} +\w+/m.test(s), 'the hosts at work');
    t.pass(`the hosts being worked on, with their state: ${/^working on [^\n]*\n +sim-\d{5} +\w+[^\n]*/m.exec(busy)?.[0]}`);
    const changed = await term.waitFor((s) => /^ +\d\d:\d\d:\d\d sim-\d{5}: \w+ -> \w+/m.test(s), 'a host state change');
    t.pass(`a host's state change is on screen: ${/sim-\d{5}: \w+ -> \w+/.exec(changed)?.[0]}`);

    const end = await term.waitFor((s) => /EXIT=\d/.test(s), 'the exit code', 60_000);
    t.match(end, /EXIT=1/, 'a host failed: exit 1');
    const id = /^job (\S+) fleet_update:/m.exec(end)?.[1] as string;
    const job = (await d.get(`/jobs/${id}`)).body;
    const s = job.summary;
    t.match(end, `job ${id} fleet_update ${job.state} in `, 'the summary line');
    t.match(end, `completed ${s.completed}, failed ${s.failed}, unreachable ${s.unreachable}, skipped ${s.skipped} of ${s.total}`, 'the daemon’s counts');
    t.match(end, new RegExp(`^overall +\\[#{24}\\] 8/8 +completed ${s.completed} +failed ${s.failed} +unreachable ${s.unreachable} +skipped ${s.skipped}`, 'm'), 'the last frame agrees');
    t.equal(end.match(/^overall /gm)?.length, 1, 'redrawn in place: one overall line on screen');
    t.match(end, /sim-00003 +failed/, 'the failed host in the summary table');
    t.match(end, /sim-00004 +unreachable/, 'the unreachable host in the summary table');
  });

  t.test('Ctrl-C typed into the terminal stops following, says how to cancel, and the job runs on', async (t) => {
    const term = openTerminal(shell('fleet update --dry-run --batch-size 1 --delay 30 --follow'), { width: 100, height: 30, joinWrapped: true });
    terms.push(term);
    const screen = await term.waitFor((s) => /^batch 1 /m.test(s), 'batch 1');
    const id = /^job (\S+) fleet_update/m.exec(screen)?.[1] as string;
    await term.keys('C-c');
    const end = await term.waitFor((s) => /EXIT=\d/.test(s), 'the exit code');
    t.match(end, /EXIT=1/);
    t.match(end, `stopped following job ${id}; it keeps running. Cancel it with: tendhost cancel ${id}`);
    t.equal((await d.get(`/jobs/${id}`)).body.state, 'running');
    await d.request('POST', `/jobs/${id}/cancel`, {});
    await until(async () => (await d.get(`/jobs/${id}`)).body.finished_at, 30_000);
  });

  t.test('tendhost top runs through the main command, and q leaves it with exit 0', async (t) => {
    const term = openTerminal(`${process.execPath} ${CLI_MAIN} top --url ${d.url}; echo "EXIT=$?"; sleep 120`, { width: 120, height: 30 });
    terms.push(term);
    await term.waitFor((s) => /sim-00008/.test(s), 'the hosts on screen');
    term.keys('q');
    const end = await term.waitFor((s) => /EXIT=\d/.test(s), 'the exit code');
    t.match(end, /EXIT=0/);
  });
}
