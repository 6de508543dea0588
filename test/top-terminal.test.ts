// `tendhost top` in a real terminal (tmux) against a real daemon with
// simulated SSH hosts: what a person sees — hosts and counts, a filter
// applied, an action confirmed (and one refused), a host's state changing,
// a failure's context, "reconnecting…" while the daemon restarts, and q.
import t from 'tap';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { hashToken } from '../src/http/auth.js';
import { ROOT, startDaemon, until } from '../harness/daemon.js';
import { startSimSetup } from './helpers/sim-daemon.js';
import { openTerminal, tmuxAvailable } from './helpers/tmux.js';

const BIN = join(ROOT, 'dist/src/cli/top/bin.js');

if (!tmuxAvailable()) {
  if (process.env.CI === 'true') t.fail('tmux is missing (apt-get install tmux; .ci/run installs it)');
  else t.skip('tmux is not installed', async () => {});
} else {
  t.test('top shows the fleet live, filters, confirms actions and survives a daemon restart', async (t) => {
    const setup = await startSimSetup({ hosts: 8, mix: { debian: 100 }, faults: ['upgrade-fail=sim-00003'] });
    t.teardown(() => setup.stop());
    // A fixed port, so the restarted daemon is where top keeps dialling.
    const port = await freePort();
    const bind = { env: { TENDHOST_BIND: `127.0.0.1:${port}` } };
    let d = await setup.start(bind);
    const term = openTerminal(`${process.execPath} ${BIN} --url ${d.url}; echo "top exited with $?"; sleep 60`);
    t.teardown(() => term.close());

    let screen = await term.waitFor((s) => /\blive\b/.test(s) && s.includes('sim-00008'), 'the fleet, live');
    t.match(screen, /tendhost top\s+http:\/\/127\.0\.0\.1:\d+\s+8 hosts/, 'title: the daemon and the host count');
    t.match(screen, /idle 8/, 'counts per state');
    t.match(screen, /HOST\s+STATE\s+PENDING/, 'the table header');

    // j moves the selection: the details pane names the selected host.
    term.keys('j');
    screen = await term.waitFor((s) => /─ sim-00002 ─/.test(s), 'sim-00002 selected after j');
    term.keys('G');
    await term.waitFor((s) => /─ sim-00008 ─/.test(s), 'the last host selected after G');
    term.keys('g');
    await term.waitFor((s) => /─ sim-00001 ─/.test(s), 'the first host selected after g');
    term.keys('Down', 'Down');
    await term.waitFor((s) => /─ sim-00003 ─/.test(s), 'two rows down with the arrow key');
    term.keys('Up');
    await term.waitFor((s) => /─ sim-00002 ─/.test(s), 'one row up');
    term.keys('PageDown');
    await term.waitFor((s) => /─ sim-00008 ─/.test(s), 'PageDown reaches the last host of a short table');
    term.keys('PageUp');
    await term.waitFor((s) => /─ sim-00001 ─/.test(s), 'PageUp the first');

    // `/` filter: typed, applied with Enter, shown in the title, the table narrows.
    term.keys('/');
    term.type('sim-00002');
    term.keys('Enter');
    screen = await term.waitFor((s) => s.includes('filter "sim-00002": 1 shown'), 'the filter applied');
    t.notMatch(tableOf(screen), /sim-00001/, 'other hosts are filtered out of the table');
    t.match(screen, /─ sim-00002 ─/, 'the one match is selected');

    // An action asks first; n (or any other key) sends nothing.
    term.keys('b');
    await term.waitFor((s) => s.includes('reboot sim-00002? (y/n)'), 'the reboot question');
    term.keys('n');
    await term.waitFor((s) => s.includes('reboot sim-00002: not sent'), 'the refusal acknowledged');
    const jobs = await d.get('/jobs?host=sim-00002');
    t.equal(jobs.body.data.length, 0, 'answering n started no job');

    // d + y: a dry run; the host's state changes on screen as the daemon moves it.
    term.keys('d');
    await term.waitFor((s) => s.includes('dry-run update sim-00002? (y/n)'), 'the dry-run question');
    term.keys('y');
    screen = await term.waitFor((s) => /dry-run sim-00002: accepted, job \S+/.test(s), 'the dry run accepted');
    screen = await term.waitFor((s) => /sim-00002: \S+ → \S+/.test(s), 'a state change of sim-00002 in the event tail');
    const final = await until(async () => {
      const h = await d.get('/hosts/sim-00002');
      return h.body.state !== 'querying' && h.body.pending_updates !== null ? h.body : null;
    });
    screen = await term.waitFor((s) => new RegExp(`sim-00002\\s+${final.state}\\s+${final.pending_updates}\\b`).test(tableOf(s)), `sim-00002 ${final.state} with ${final.pending_updates} pending in the table`);
    t.match(screen, /job \S+ update \(dry run\) succeeded/, 'the job finished in the event tail');
    t.match(screen, /\S+ {2}update \(dry run\) {2}succeeded {2}1\/1 .*1 ok {2}0 failed {2}0 unreachable {2}0 skipped/, 'the job with its counts in the jobs pane');

    // Esc clears the filter; an update that fails shows its context.
    term.keys('Escape');
    await term.waitFor((s) => !s.includes('filter "') && tableOf(s).includes('sim-00007'), 'the filter cleared');
    term.keys('/');
    term.type('sim-00003');
    term.keys('Enter', 'u');
    await term.waitFor((s) => s.includes('update sim-00003? (y/n)'), 'the update question');
    term.keys('y');
    screen = await term.waitFor((s) => /failed during updating at \S+: \S+/.test(s), 'the failure context of sim-00003', 60_000);
    t.match(screen, /failed 1/, 'the failed count');
    t.match(screen, /not acknowledged/, 'not acknowledged yet');
    term.keys('a', 'y');
    await term.waitFor((s) => /\backnowledged\b/.test(s.replace(/not acknowledged/g, '')), 'the failure acknowledged');

    // A smaller terminal: the frame is drawn again to its size.
    term.resize(100, 30);
    screen = await term.waitFor((s) => s.split('\n').length <= 31 && /─ sim-00003 ─/.test(s) && s.includes('HOST'), 'the frame redrawn at 100x30');
    t.ok(screen.split('\n').every((l) => Array.from(l).length <= 100), 'no line wider than the terminal');
    t.match(screen.split('\n')[0], /tendhost top .*live/, 'the title still says live');
    term.resize(160, 48);

    // The daemon goes away: top says so, and picks up again when it is back.
    await d.stop('SIGKILL');
    screen = await term.waitFor((s) => s.includes('reconnecting…'), 'reconnecting… on screen');
    d = await setup.start(bind);
    screen = await term.waitFor((s) => /\blive\b/.test(s.split('\n')[0]), 'live again after the restart', 30_000);
    await term.waitFor((s) => /reconnected after \d+\.\d s/.test(s), 'the reconnect noted in the event tail');
    term.keys('Escape');
    await term.waitFor((s) => tableOf(s).includes('sim-00001'), 'every host again');
    // A change made after the restart (through the API, not top) reaches the screen.
    const r = await d.request('POST', '/hosts/sim-00005/update', { dry_run: true });
    t.equal(r.status, 202);
    await term.waitFor((s) => /sim-00005: \S+ → \S+/.test(s), 'a state change after the restart');

    term.keys('q');
    await term.waitFor((s) => s.includes('top exited with 0'), 'q exits 0');
  });

  t.test('a token the daemon refuses: one line on stderr, exit 3; the right one shows the fleet', async (t) => {
    const d = await startDaemon({ workers: 1, toml: `[daemon.auth]\nenabled = true\ntokens = [{ name = "ops", token_hash = "${hashToken('right-token')}" }]\n` });
    t.teardown(() => d.stop());
    const wrong = openTerminal(`${process.execPath} ${BIN} --url ${d.url} --token wrong-token; echo "top exited with $?"; sleep 30`, { width: 120, height: 30 });
    t.teardown(() => wrong.close());
    const screen = await wrong.waitFor((s) => s.includes('top exited with'), 'the exit');
    t.match(screen, /tendhost top: UNAUTHORIZED: /);
    t.match(screen, /top exited with 3/);
    t.notMatch(screen, /wrong-token/, 'the token is never echoed');
    const right = openTerminal(`${process.execPath} ${BIN} --url ${d.url}; echo "top exited with $?"; sleep 30`, { width: 120, height: 30, env: { TENDHOST_TOKEN: 'right-token' } });
    t.teardown(() => right.close());
    await right.waitFor((s) => /tendhost top .* 0 hosts .*live/.test(s) && s.includes('no hosts'), 'live with the token from TENDHOST_TOKEN');
    right.keys('q');
    await right.waitFor((s) => s.includes('top exited with 0'), 'q exits 0');
  });

  t.test('bad arguments print one line and the usage, exit 2', async (t) => {
    const term = openTerminal(`${process.execPath} ${BIN} --bogus; echo "top exited with $?"; sleep 30`, { width: 120, height: 30 });
    t.teardown(() => term.close());
    const screen = await term.waitFor((s) => s.includes('top exited with'), 'the exit');
    t.match(screen, /tendhost top: Unknown option '--bogus'/);
    t.match(screen, /usage: tendhost top/);
    t.match(screen, /top exited with 2/);
  });
}

/** The table part of a screen: between the header and the details pane. */
function tableOf(screen: string): string {
  const lines = screen.split('\n');
  const start = lines.findIndex((l) => l.startsWith('HOST '));
  const end = lines.findIndex((l, i) => i > start && l.startsWith('─ '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
