// Detection: OS from os-release, package manager and tools from `command -v`,
// the Compose version from `version --short`; and the drivers a host gets.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { TendhostError } from '../common/errors.js';
import type { ExecResult, Executor } from '../workers/exec/types.js';
import { CMD } from '../workers/pkg/commands.js';
import { decide, detect, osInfoOf, parseOsRelease } from '../workers/pkg/detect.js';
import { driversFor } from '../workers/pkg/drivers.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const DEBIAN = readFileSync(new URL('apt/os-release.stdout', FIXTURES), 'utf8');
const FEDORA =
  'NAME="Fedora Linux"\nVERSION="39 (Server Edition)"\nID=fedora\nVERSION_ID=39\nVERSION_CODENAME=""\nPRETTY_NAME="Fedora Linux 39 (Server Edition)"\n';
const CENTOS7 = 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n';
const ALPINE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n';
const NO_COMPOSE = { composePaths: [] };

t.test('os-release', async (t) => {
  t.strictSame(osInfoOf(DEBIAN), { id: 'debian', name: 'Debian GNU/Linux', version_id: '12', codename: 'bookworm', pretty_name: 'Debian GNU/Linux 12 (bookworm)' });
  t.strictSame(osInfoOf(FEDORA), { id: 'fedora', name: 'Fedora Linux', version_id: '39', codename: null, pretty_name: 'Fedora Linux 39 (Server Edition)' });
  t.strictSame(osInfoOf(CENTOS7).codename, 'Core', 'no VERSION_CODENAME key: from VERSION');
  t.strictSame(parseOsRelease(`A="x \\"y\\""\nB='z'\n# comment\nC=plain\n`), { A: 'x "y"', B: 'z', C: 'plain' });
});

t.test('the package manager, dnf over yum, and the other tools', async (t) => {
  const deb = decide(DEBIAN, '/usr/bin/apt-get\n/usr/bin/docker\n', NO_COMPOSE);
  t.strictSame(
    { ...deb, os: undefined },
    { system: 'apt', compose: false, composeVersion: null, docker: true, osquery: false, needsRestarting: false, os: undefined },
  );
  t.equal(decide(FEDORA, '/usr/bin/dnf\n/usr/bin/yum\n', NO_COMPOSE).system, 'dnf');
  const el7 = decide(CENTOS7, '/usr/bin/yum\n/usr/bin/needs-restarting\n/usr/bin/osqueryi\n', NO_COMPOSE);
  t.strictSame([el7.system, el7.needsRestarting, el7.osquery], ['yum', true, true]);
  const stacks = decide(DEBIAN, '/usr/bin/apt-get\n/usr/bin/docker\n', { composePaths: ['/srv/web'] });
  t.strictSame([stacks.compose, stacks.composeVersion], [true, 'v2']);
  const v1 = decide(DEBIAN, '/usr/bin/apt-get\n/usr/local/bin/docker-compose\n', { composePaths: ['/srv/web'] });
  t.strictSame([v1.compose, v1.composeVersion], [true, 'v1']);
  t.equal(decide(DEBIAN, '/usr/bin/docker\n', { composePaths: ['/srv/web'], composeVersion: 'v1' }).composeVersion, 'v1', 'config wins');
  const composeOnly = decide(ALPINE, '/usr/bin/docker\n', { composePaths: ['/srv/web'] });
  t.strictSame([composeOnly.system, composeOnly.compose], [null, true]);
});

t.test('nothing to manage is PKG_UNKNOWN_MANAGER', async (t) => {
  const err = (() => {
    try {
      decide(ALPINE, '/usr/bin/docker\n', NO_COMPOSE);
    } catch (e) {
      return e;
    }
    return null;
  })();
  t.ok(err instanceof TendhostError);
  t.equal((err as TendhostError).code, 'PKG_UNKNOWN_MANAGER');
  t.equal((err as TendhostError).message, 'no supported package manager found (apt-get, dnf, yum) on Alpine Linux v3.20');
});

function result(stdout: string, exit = 0): ExecResult {
  return { exitCode: exit, signal: null, stdout, stderr: '', durationMs: 1, truncated: false, timedOut: false };
}

t.test('detect() runs the probes, and asks Compose for its version only when it must', async (t) => {
  const calls: string[] = [];
  const answers: Record<string, ExecResult> = {
    [CMD.osRelease]: result(DEBIAN),
    [CMD.detectTools]: result('/usr/bin/apt-get\n/usr/bin/docker\n/usr/local/bin/docker-compose\n'),
    [CMD.composeVersion('v2')]: result('', 125),
    [CMD.composeVersion('v1')]: result('1.29.2\n'),
  };
  const exec: Executor = {
    async run(command) {
      calls.push(command);
      const r = answers[command];
      if (!r) throw new Error(`unexpected ${command}`);
      return r;
    },
    disconnect() {},
    async close() {},
  };
  const ctx = { timeoutMs: 10_000, maxOutputBytes: 1 << 20 };
  const d = await detect(exec, ctx, { compose_paths: ['/srv/web'], docker: { compose_version: null, pull_before_update: true } });
  t.strictSame([d.system, d.compose, d.composeVersion], ['apt', true, 'v1'], 'docker is there but its compose plugin is not');
  t.strictSame(calls, [CMD.osRelease, CMD.detectTools, CMD.composeVersion('v2'), CMD.composeVersion('v1')]);

  calls.length = 0;
  const pinned = await detect(exec, ctx, { compose_paths: ['/srv/web'], docker: { compose_version: 'v2', pull_before_update: true } });
  t.equal(pinned.composeVersion, 'v2');
  t.strictSame(calls, [CMD.osRelease, CMD.detectTools], 'a pinned version is not probed');

  const drivers = driversFor(d, { compose_paths: ['/srv/web'], docker: { compose_version: null, pull_before_update: false } });
  t.strictSame(drivers.map((x) => x.name), ['apt', 'compose']);
  const rpm = driversFor(decide(CENTOS7, '/usr/bin/yum\n', NO_COMPOSE), { compose_paths: [], docker: { compose_version: null, pull_before_update: true } });
  t.strictSame(rpm.map((x) => x.name), ['yum']);
});
