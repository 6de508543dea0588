// Compose parsers against the documented formats (no Docker engine runs on
// the build machines), the driver against a replayed stack shaped like the
// fleet simulator's, and the quoting of stack paths through a real sh.
import t from 'tap';
import { execFile } from 'node:child_process';
import { TendhostError } from '../src/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../workers/exec/types.js';
import { CMD, shellQuote } from '../workers/pkg/commands.js';
import { ComposeDriver } from '../workers/pkg/compose.js';
import {
  diffImages,
  parseComposeImages,
  parseComposePullLine,
  parseComposeUpLine,
  parseComposeVersion,
  parseConfigImages,
  projectNamesOf,
  serviceOf,
  splitImageRef,
} from '../workers/pkg/compose-parse.js';

const ID = (c: string) => `sha256:${c.repeat(64)}`;

function imagesArray(rows: [container: string, repo: string, tag: string, id: string][]): string {
  return (
    JSON.stringify(
      rows.map(([c, r, tag, id]) => ({
        ID: id,
        ContainerName: c,
        Repository: r,
        Tag: tag,
        Platform: 'linux/amd64',
        Size: 187654321,
        Created: '2026-11-20T09:12:44Z',
        LastTagTime: '2026-11-20T09:12:44Z',
      })),
    ) + '\n'
  );
}

function result(c: { stdout?: string; stderr?: string; exit?: number }): ExecResult {
  return { exitCode: c.exit ?? 0, signal: null, stdout: c.stdout ?? '', stderr: c.stderr ?? '', durationMs: 1, truncated: false, timedOut: false };
}

/** Answers command strings; an answer may be a list, consumed one call at a time (images before/after). */
function replay(answers: Record<string, ExecResult | ExecResult[]>) {
  const calls: { command: string; opts: ExecOptions }[] = [];
  const exec: Executor = {
    async run(command, opts) {
      calls.push({ command, opts });
      const a = answers[command];
      const r = Array.isArray(a) ? a.shift() : a;
      if (!r) throw new Error(`unexpected command: ${command}`);
      if (r.stdout) opts.onStdout?.(r.stdout);
      return r;
    },
    disconnect() {},
    async close() {},
  };
  return { exec, calls };
}

const CTX = { timeoutMs: 60_000, maxOutputBytes: 1 << 20 };

t.test('images: JSON array (current v2), JSON lines (older v2), null, and both table layouts', async (t) => {
  const want = [
    { container: 'web-app-1', repository: 'nginx', tag: '1.27', id: ID('a'), platform: 'linux/amd64' },
    { container: 'web-db-1', repository: 'postgres', tag: '16', id: ID('b'), platform: 'linux/amd64' },
  ];
  const array = imagesArray([
    ['web-app-1', 'nginx', '1.27', ID('a')],
    ['web-db-1', 'postgres', '16', ID('b')],
  ]);
  t.strictSame(parseComposeImages(array), want);
  const lines = (JSON.parse(array) as unknown[]).map((o) => JSON.stringify(o)).join('\n') + '\n';
  t.strictSame(parseComposeImages(lines), want);
  t.strictSame(parseComposeImages('null\n'), [], 'Go prints a nil slice as null');
  t.strictSame(parseComposeImages(''), []);

  const v2Table =
    'CONTAINER   REPOSITORY   TAG    PLATFORM      IMAGE ID       SIZE      CREATED\n' +
    'web-app-1   nginx        1.27   linux/amd64   aaaaaaaaaaaa   188MB     8 days ago\n' +
    'web-db-1    postgres     16     linux/amd64   bbbbbbbbbbbb   438MB     8 days ago\n';
  t.strictSame(
    parseComposeImages(v2Table).map((i) => [i.container, i.repository, i.tag, i.id, i.platform]),
    [
      ['web-app-1', 'nginx', '1.27', 'aaaaaaaaaaaa', 'linux/amd64'],
      ['web-db-1', 'postgres', '16', 'bbbbbbbbbbbb', 'linux/amd64'],
    ],
  );
  const v1Table =
    '   Container     Repository    Tag       Image Id       Size  \n' +
    '---------------------------------------------------------------\n' +
    'web_app_1       nginx         1.27    605c77e624dd   141.5 MB\n' +
    'web_db_1        postgres      16      0123456789ab   379 MB  \n';
  t.strictSame(
    parseComposeImages(v1Table).map((i) => [i.container, i.repository, i.tag, i.id, i.platform]),
    [
      ['web_app_1', 'nginx', '1.27', '605c77e624dd', null],
      ['web_db_1', 'postgres', '16', '0123456789ab', null],
    ],
  );
});

t.test('service names from container names (v2 dashes, v1 underscores, custom names)', async (t) => {
  t.strictSame(projectNamesOf('/srv/My-App_2/'), ['my-app_2', 'myapp2']);
  t.equal(serviceOf('web-app-1', '/srv/web'), 'app');
  t.equal(serviceOf('web-app-worker-12', '/srv/web'), 'app-worker');
  t.equal(serviceOf('web_app_1', '/srv/web'), 'app');
  t.equal(serviceOf('myapp_db_1', '/srv/my-app'), 'db', 'v1 drops the dash from the project');
  t.equal(serviceOf('custom-name', '/srv/web'), 'custom-name', 'container_name: kept as is');
});

t.test('pull progress: v2 plain and tty forms, v1 forms; layer lines are not services', async (t) => {
  const lines = [
    ' app Pulling ',
    ' db Pulling ',
    ' a2abf6c4d29d Pulling fs layer ',
    ' a2abf6c4d29d Downloading [==>    ]  1.2MB/31.4MB',
    ' a2abf6c4d29d Pull complete ',
    ' app Pulled ',
    ' ✔ db Pulled                                                  3.2s ',
    '[+] Pulling 2/2',
    ' ⠿ cache Skipped - Image is already being pulled by app ',
    'Pulling web (nginx:latest)...',
    'Pulling db  ... done',
    'Pulling bad ... error',
    ' Image nginx:1.27 Pulling ',
    '1.21: Pulling from library/nginx',
    'a2abf6c4d29d: Pulling fs layer',
  ];
  t.strictSame(
    lines.map(parseComposePullLine),
    [
      { subject: 'app', progress: 'pulling' },
      { subject: 'db', progress: 'pulling' },
      null,
      null,
      null,
      { subject: 'app', progress: 'pulled' },
      { subject: 'db', progress: 'pulled' },
      null,
      { subject: 'cache', progress: 'skipped' },
      { subject: 'web', progress: 'pulling' },
      { subject: 'db', progress: 'pulled' },
      { subject: 'bad', progress: 'error' },
      { subject: 'nginx:1.27', progress: 'pulling' },
      null,
      null,
    ],
  );
  t.strictSame(
    [' Container web-app-1  Recreate', ' Container web-app-1  Started', ' ✔ Container web-db-1  Running', 'Recreating web_app_1 ... done', 'Starting web_db_1 ... ', 'Network web_default  Created'].map(parseComposeUpLine),
    [
      { subject: 'web-app-1', progress: 'recreate' },
      { subject: 'web-app-1', progress: 'started' },
      { subject: 'web-db-1', progress: 'running' },
      { subject: 'web_app_1', progress: 'recreated' },
      { subject: 'web_db_1', progress: 'starting' },
      null,
    ],
  );
});

t.test('config images (v2 --images lines, v1 YAML), image references, versions', async (t) => {
  t.strictSame(parseConfigImages('nginx:1.27\npostgres:16\nnginx:1.27\n'), ['nginx:1.27', 'postgres:16']);
  const yaml = 'services:\n  app:\n    image: nginx:1.27\n    ports:\n    - 80:80\n  db:\n    image: "postgres:16"\nversion: "3.8"\n';
  t.strictSame(parseConfigImages(yaml), ['nginx:1.27', 'postgres:16']);
  t.strictSame(parseConfigImages('services:\n  app:\n    build: .\n'), [], 'build-only services have no image');
  t.strictSame(splitImageRef('nginx'), { repository: 'nginx', tag: 'latest' });
  t.strictSame(splitImageRef('docker.io/library/nginx:1.27'), { repository: 'nginx', tag: '1.27' });
  t.strictSame(splitImageRef('registry.local:5000/team/app@sha256:abc'), { repository: 'registry.local:5000/team/app', tag: 'latest' });
  t.strictSame(splitImageRef('ghcr.io/o/app:v2'), { repository: 'ghcr.io/o/app', tag: 'v2' });
  t.strictSame(parseComposeVersion('2.29.7\n'), { version: '2.29.7', major: 2 });
  t.strictSame(parseComposeVersion('v2.3.3\n'), { version: '2.3.3', major: 2 });
  t.strictSame(parseComposeVersion('1.29.2\n'), { version: '1.29.2', major: 1 });
  t.equal(parseComposeVersion("docker: 'compose' is not a docker command.\n"), null);
});

t.test('diff of images before/after: changed, new and removed services', async (t) => {
  const before = parseComposeImages(imagesArray([
    ['web-app-1', 'nginx', '1.27', ID('a')],
    ['web-db-1', 'postgres', '16', ID('b')],
    ['web-old-1', 'redis', '7', ID('c')],
  ]));
  const after = parseComposeImages(imagesArray([
    ['web-app-1', 'nginx', '1.27', ID('d')],
    ['web-db-1', 'postgres', '16', ID('b')],
    ['web-cache-1', 'memcached', '1.6', ID('e')],
  ]));
  t.strictSame(diffImages('/srv/web', before, after), {
    packages: [
      { name: '/srv/web:app', current_version: ID('a'), new_version: ID('d'), arch: 'linux/amd64', repository: 'nginx:1.27', kind: 'compose' },
      { name: '/srv/web:cache', current_version: null, new_version: ID('e'), arch: 'linux/amd64', repository: 'memcached:1.6', kind: 'compose' },
    ],
    upgraded: 1,
    new: 1,
    removed: 1,
  });
  // two replicas of one service: one package, counted once
  const replicas = (id: string) =>
    parseComposeImages(imagesArray([
      ['web-app-1', 'nginx', '1.27', id],
      ['web-app-2', 'nginx', '1.27', id],
    ]));
  const d = diffImages('/srv/web', replicas(ID('a')), replicas(ID('f')));
  t.strictSame([d.packages.map((p) => p.name), d.upgraded, d.new, d.removed], [['/srv/web:app'], 1, 0, 0]);
});

t.test('driver update: find, images, pull, up -d, images — changed image ids are the packages', async (t) => {
  const dir = '/srv/web';
  const before = imagesArray([
    ['web-app-1', 'nginx', '1.27', ID('a')],
    ['web-db-1', 'postgres', '16', ID('b')],
  ]);
  const after = imagesArray([
    ['web-app-1', 'nginx', '1.27', ID('d')],
    ['web-db-1', 'postgres', '16', ID('b')],
  ]);
  const { exec, calls } = replay({
    [CMD.composeFind(dir)]: result({ stdout: 'compose.yaml\n' }),
    [CMD.composeImages('v2', dir)]: [result({ stdout: before }), result({ stdout: after })],
    [CMD.composePull('v2', dir)]: result({ stderr: ' app Pulling \n db Pulling \n app Pulled \n db Pulled \n' }),
    [CMD.composeUp('v2', dir)]: result({
      stderr: ' Container web-db-1  Running\n Container web-app-1  Recreate\n Container web-app-1  Recreated\n Container web-app-1  Started\n',
    }),
  });
  const progress: string[] = [];
  const driver = new ComposeDriver({ paths: [dir], version: 'v2', pullBeforeUpdate: true });
  const out = await driver.upgrade(exec, { ...CTX, dryRun: false, onProgress: (p, s) => progress.push(`${p} ${s}`) });
  t.strictSame(out, {
    upgraded: 1,
    new: 0,
    removed: 0,
    packages: [{ name: '/srv/web:app', current_version: ID('a'), new_version: ID('d'), arch: 'linux/amd64', repository: 'nginx:1.27', kind: 'compose' }],
  });
  t.strictSame(calls.map((c) => c.command), [
    CMD.composeFind(dir),
    CMD.composeImages('v2', dir),
    CMD.composePull('v2', dir),
    CMD.composeUp('v2', dir),
    CMD.composeImages('v2', dir),
  ]);
  t.strictSame(progress, [
    '/srv/web:app pulling',
    '/srv/web:db pulling',
    '/srv/web:app pulled',
    '/srv/web:db pulled',
    '/srv/web:db running',
    '/srv/web:app recreate',
    '/srv/web:app recreated',
    '/srv/web:app started',
  ]);
  t.strictSame(await driver.listPending(), [], 'pending is unknowable without a pull');
  t.strictSame(await driver.rebootRequired(), { required: false, packages: [] });

  // pull_before_update = false: no pull, up -d only.
  const noPull = replay({
    [CMD.composeFind(dir)]: result({ stdout: 'compose.yaml\n' }),
    [CMD.composeImages('v2', dir)]: [result({ stdout: before }), result({ stdout: before })],
    [CMD.composeUp('v2', dir)]: result({ stderr: ' Container web-app-1  Running\n' }),
  });
  const same = await new ComposeDriver({ paths: [dir], version: 'v2', pullBeforeUpdate: false }).upgrade(noPull.exec, {
    ...CTX,
    dryRun: false,
    onProgress: () => {},
  });
  t.strictSame(same, { upgraded: 0, new: 0, removed: 0, packages: [] });
  t.notOk(noPull.calls.some((c) => c.command === CMD.composePull('v2', dir)));
});

t.test('driver dry run: no pull, no up; configured images with new = current', async (t) => {
  const dir = '/srv/web';
  const { exec, calls } = replay({
    [CMD.composeFind(dir)]: result({ stdout: 'docker-compose.yml\n' }),
    [CMD.composeImages('v2', dir)]: result({ stdout: imagesArray([['web-app-1', 'nginx', '1.27', ID('a')]]) }),
    [CMD.composeConfigImages('v2', dir)]: result({ stdout: 'nginx:1.27\nredis:7\n' }),
  });
  const out = await new ComposeDriver({ paths: [dir], version: 'v2', pullBeforeUpdate: true }).upgrade(exec, {
    ...CTX,
    dryRun: true,
    onProgress: () => {},
  });
  t.strictSame(out, {
    upgraded: 0,
    new: 0,
    removed: 0,
    packages: [
      { name: '/srv/web:app', current_version: ID('a'), new_version: ID('a'), arch: 'linux/amd64', repository: 'nginx:1.27', kind: 'compose' },
      { name: '/srv/web:redis:7', current_version: null, new_version: 'redis:7', arch: null, repository: 'redis:7', kind: 'compose' },
    ],
  });
  t.notOk(calls.some((c) => c.command.endsWith(' pull') || c.command.endsWith(' up -d')), 'nothing changes in a dry run');
});

t.test('driver: version detection, v1 command lines, a missing compose file, a failing pull', async (t) => {
  const dir = '/srv/legacy';
  const table = (id: string) =>
    '   Container     Repository    Tag       Image Id       Size  \n' +
    '---------------------------------------------------------------\n' +
    `legacy_app_1    nginx         1.21    ${id}   141.5 MB\n`;
  const { exec, calls } = replay({
    [CMD.composeVersion('v2')]: result({ exit: 125, stderr: "docker: 'compose' is not a docker command.\n" }),
    [CMD.composeVersion('v1')]: result({ stdout: '1.29.2\n' }),
    [CMD.composeFind(dir)]: result({ stdout: 'docker-compose.yml\n' }),
    [CMD.composeImages('v1', dir)]: [result({ stdout: table('605c77e624dd') }), result({ stdout: table('0123456789ab') })],
    [CMD.composePull('v1', dir)]: result({ stderr: 'Pulling app (nginx:1.21)...\n1.21: Pulling from library/nginx\nDigest: sha256:abc\n' }),
    [CMD.composeUp('v1', dir)]: result({ stderr: 'Recreating legacy_app_1 ... \nRecreating legacy_app_1 ... done\n' }),
  });
  const progress: string[] = [];
  const out = await new ComposeDriver({ paths: [dir], version: null, pullBeforeUpdate: true }).upgrade(exec, {
    ...CTX,
    dryRun: false,
    onProgress: (p, s) => progress.push(`${p} ${s}`),
  });
  t.equal(CMD.composeImages('v1', dir), 'cd /srv/legacy && docker-compose images', 'v1 has no --format');
  t.strictSame(out.packages, [
    { name: '/srv/legacy:app', current_version: '605c77e624dd', new_version: '0123456789ab', arch: null, repository: 'nginx:1.21', kind: 'compose' },
  ]);
  t.strictSame(progress, ['/srv/legacy:app pulling', '/srv/legacy:app recreating', '/srv/legacy:app recreated']);
  t.equal(calls.filter((c) => c.command.includes('version --short')).length, 2, 'v2 tried first, then v1');

  const missing = replay({ [CMD.composeFind('/srv/empty')]: result({ exit: 1 }) });
  const driver = new ComposeDriver({ paths: ['/srv/empty'], version: 'v2', pullBeforeUpdate: true });
  const err = await driver.upgrade(missing.exec, { ...CTX, dryRun: false, onProgress: () => {} }).catch((e: unknown) => e);
  t.ok(err instanceof TendhostError);
  t.equal((err as TendhostError).code, 'PKG_COMMAND_FAILED');
  t.equal((err as TendhostError).message, 'no compose file in /srv/empty');

  const dir2 = '/srv/web';
  const offline = replay({
    [CMD.composeFind(dir2)]: result({ stdout: 'compose.yaml\n' }),
    [CMD.composeImages('v2', dir2)]: result({ stdout: imagesArray([['web-app-1', 'nginx', '1.27', ID('a')]]) }),
    [CMD.composePull('v2', dir2)]: result({
      exit: 18,
      stderr: ' app Pulling \n app Error Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host\nError response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host\n',
    }),
  });
  const err2 = await new ComposeDriver({ paths: [dir2], version: 'v2', pullBeforeUpdate: true })
    .upgrade(offline.exec, { ...CTX, dryRun: false, onProgress: () => {} })
    .catch((e: unknown) => e);
  t.equal((err2 as TendhostError).code, 'PKG_REPO_UNREACHABLE');
});

/** Runs `sh -c` on this machine with nothing on PATH: even a broken quote could not reach rm. */
function sh(script: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', script], { env: { PATH: '/nonexistent' } }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

t.test('stack paths stay one quoted argument in every compose command', async (t) => {
  const evil = "/srv/a'; rm -rf / #";
  t.equal(shellQuote(evil), `'/srv/a'\\''; rm -rf / #'`);
  const commands = [
    CMD.composeFind(evil),
    CMD.composeImages('v2', evil),
    CMD.composeImages('v1', evil),
    CMD.composePull('v2', evil),
    CMD.composeUp('v1', evil),
    CMD.composeConfigImages('v2', evil),
  ];
  for (const c of commands) t.ok(c.startsWith(`cd ${shellQuote(evil)} && `), c);

  // Through a real sh: a `cd` stand-in prints its arguments one per line and
  // fails, `rm` is a stand-in too; the path must arrive as exactly one argument.
  const stubs = `cd() { printf '<%s>\\n' "$@"; return 1; }; rm() { echo INJECTED; }; `;
  for (const c of commands) {
    const r = await sh(stubs + c);
    t.equal(r.stdout, `<${evil}>\n`, `one argument, nothing injected: ${c.slice(0, 40)}…`);
    t.not(r.code, 0, 'the failed cd stops the command');
  }
  for (const path of ['/srv/with space', '/srv/$(touch x)', '/srv/`id`', '/srv/"q"', '/srv/a\nb', '']) {
    const r = await sh(stubs + CMD.composePull('v2', path));
    t.equal(r.stdout, `<${path}>\n`, JSON.stringify(path));
  }
});
