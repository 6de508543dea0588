// Compose pieces without an engine: image references, the registry's
// answers, the docker config, the `config`/inspect readers, progress lines,
// and the quoting of stack paths and service names through a real sh. The
// driver itself runs against a real engine in compose-engine-v1/-v2.test.ts.
import t from 'tap';
import { execFile } from 'node:child_process';
import { CMD, shellQuote } from '../workers/pkg/commands.js';
import { parseComposePullLine, parseComposeUpLine, parseComposeVersion, projectNamesOf, serviceOf } from '../workers/pkg/compose-parse.js';
import { parseComposeConfig, parseContainerStates, parseImageDigests } from '../workers/pkg/compose-services.js';
import { authKeysFor, digestFor, manifestUrl, parseImageRef } from '../workers/pkg/image-ref.js';
import { bearerTokenUrl, parseDockerConfig, parseHeadOutput } from '../workers/pkg/registry.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

function sh(script: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', script], { env: { PATH: '/nonexistent' } }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

t.test('image references: Docker Hub names, registries with ports, tags, pinned digests', async (t) => {
  t.match(parseImageRef('nginx'), { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', digest: null });
  t.match(parseImageRef('docker.io/library/nginx:1.27'), { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' });
  t.match(parseImageRef('grafana/grafana:11'), { registry: 'docker.io', repository: 'grafana/grafana', tag: '11' });
  t.match(parseImageRef('127.0.0.1:5000/team/app:2'), { registry: '127.0.0.1:5000', repository: 'team/app', tag: '2' });
  t.match(parseImageRef('localhost/app'), { registry: 'localhost', repository: 'app', tag: 'latest' });
  t.match(parseImageRef(`ghcr.io/o/app@${D('a')}`), { registry: 'ghcr.io', repository: 'o/app', digest: D('a') });
  t.equal(manifestUrl(parseImageRef('nginx:1.27')), 'https://registry-1.docker.io/v2/library/nginx/manifests/1.27');
  t.equal(manifestUrl(parseImageRef('127.0.0.1:5000/app:2')), 'http://127.0.0.1:5000/v2/app/manifests/2', 'loopback registries speak HTTP');
  t.equal(manifestUrl(parseImageRef('ghcr.io/o/app:v2')), 'https://ghcr.io/v2/o/app/manifests/v2');
  const ref = parseImageRef('127.0.0.1:5000/app:2');
  t.equal(digestFor(ref, [`127.0.0.1:5000/other@${D('b')}`, `127.0.0.1:5000/app@${D('c')}`]), D('c'), 'the digest of this repository');
  t.equal(digestFor(parseImageRef('nginx:1'), [`nginx@${D('d')}`]), D('d'), 'Hub digests are listed under the short name');
  t.equal(digestFor(ref, []), null, 'an imported or built image has no registry digest');
  t.ok(authKeysFor('docker.io').includes('https://index.docker.io/v1/'));
});

t.test('registry answers: HEAD headers, bearer challenges, docker config credentials', async (t) => {
  const head = parseHeadOutput(`HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.distribution.manifest.v2+json\r\nDocker-Content-Digest: ${D('e')}\r\n\r\n`);
  t.equal(head?.status, 200);
  t.equal(head?.headers.get('docker-content-digest'), D('e'));
  t.equal(parseHeadOutput('')?.status, undefined, 'no answer');
  t.equal(
    bearerTokenUrl('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/nginx:pull"'),
    'https://auth.example/token?service=registry.example&scope=repository%3Alibrary%2Fnginx%3Apull',
  );
  t.equal(bearerTokenUrl('Basic realm="x"'), null);
  const creds = parseDockerConfig(
    JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('me:secret').toString('base64') }, 'reg.example:5000': { username: 'u', password: 'p' } } }),
  );
  t.equal(creds.get('https://index.docker.io/v1/'), 'me:secret');
  t.equal(creds.get('reg.example:5000'), 'u:p');
  t.equal(parseDockerConfig('not json').size, 0);
});

t.test('compose config, image digests and container states as the tools print them', async (t) => {
  // Compose 2.26 `config` (v1 prints the same keys, with a `version:` line).
  const config = 'name: shop\nservices:\n  web:\n    image: 127.0.0.1:5000/web:stable\n    network_mode: none\n  built:\n    build:\n      context: /srv/shop/ctx\n      dockerfile: Dockerfile\n    image: local/built:1\n    network_mode: none\n  bare:\n    network_mode: none\n';
  t.strictSame(parseComposeConfig(config), [
    { name: 'web', image: '127.0.0.1:5000/web:stable', build: false },
    { name: 'built', image: 'local/built:1', build: true },
    { name: 'bare', image: null, build: false },
  ]);
  t.throws(() => parseComposeConfig('version: "3"\n'), /no services/);
  const digests = parseImageDigests(`127.0.0.1:5000/web:stable\t${D('1')}\t["127.0.0.1:5000/web@${D('2')}"]\nlocal/built:1\t${D('3')}\t[]\nmissing:1\t\n`);
  t.strictSame(digests.get('127.0.0.1:5000/web:stable'), { id: D('1'), repoDigests: [`127.0.0.1:5000/web@${D('2')}`] });
  t.strictSame(digests.get('local/built:1'), { id: D('3'), repoDigests: [] });
  t.equal(digests.get('missing:1'), null);
  t.strictSame(parseContainerStates(`${'a'.repeat(64)}\tweb\t${D('1')}\trunning\t\n${'b'.repeat(64)}\tworker\t${D('4')}\texited\tunhealthy\n`), [
    { id: 'a'.repeat(64), service: 'web', image: D('1'), status: 'running', health: null },
    { id: 'b'.repeat(64), service: 'worker', image: D('4'), status: 'exited', health: 'unhealthy' },
  ]);
  t.strictSame(parseComposeVersion('2.26.1\n'), { version: '2.26.1', major: 2 });
  t.strictSame(parseComposeVersion('1.29.2\n'), { version: '1.29.2', major: 1 });
  t.equal(parseComposeVersion("docker: 'compose' is not a docker command.\n"), null);
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

t.test('stack paths stay one quoted argument in every compose command', async (t) => {
  const evil = "/srv/a'; rm -rf / #";
  t.equal(shellQuote(evil), `'/srv/a'\\''; rm -rf / #'`);
  const commands = [
    CMD.composeFind(evil),
    CMD.composeConfig('v2', evil),
    CMD.composeConfig('v1', evil),
    CMD.composePull('v2', evil, ['web']),
    CMD.composeUp('v1', evil, ['web']),
    CMD.composePs('v2', evil),
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
    const r = await sh(stubs + CMD.composePull('v2', path, ['web']));
    t.equal(r.stdout, `<${path}>\n`, JSON.stringify(path));
  }
});

t.test('credentials never reach a command line; image references and service names stay one argument', async (t) => {
  const head = CMD.registryHead('http://127.0.0.1:5000/v2/app/manifests/2');
  t.match(head, / -K - /, 'curl reads its config (credentials) from stdin');
  t.notMatch(head, /--user|-u /);
  const r = await sh(`printf() { :; }; docker() { echo "<$5>"; }; ` + CMD.imageDigests(["a'; rm -rf / #:1", 'b:2']));
  t.equal(r.stdout, "<a'; rm -rf / #:1>\n<b:2>\n");
});
