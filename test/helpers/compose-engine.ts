// The compose engine suite, run once per Compose version
// (compose-engine-v1/-v2.test.ts): a real dockerd and registry, two stack
// hosts reached through a real sshd on loopback, the built daemon. The ssh
// sessions see the test daemon's DOCKER_HOST and a PATH with only docker,
// Compose, curl and the shell tools — no apt-get, so an update touches
// nothing but the stacks.
import type { Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startDaemon, until, type Daemon } from '../../harness/daemon.js';
import { composeV2Binary, dockerBinary, missingDockerParts, startEngine, type Engine } from './docker-engine.js';
import { recordEvents, waitForState, type Recorder } from './fleet-cycle.js';
import { canRunSshd, keygen, publicKeyLine, startSshd, type Sshd } from '../../harness/sshd.js';

interface Rig {
  engine: Engine;
  sshd: Sshd;
  d: Daemon;
  events: Recorder;
  /** Stack directories: hostA's, hostB's. */
  stacks: [string, string];
  digests: Record<string, string>;
}

const HOSTS = ['stack-a', 'stack-b'] as const;

function composeFile(registry: string, pinned: string): string {
  const svc = (name: string, body: string) => `  ${name}:\n${body}    network_mode: none\n`;
  return (
    'services:\n' +
    svc('web', `    image: ${registry}/web:stable\n`) +
    svc(
      'worker',
      `    image: ${registry}/worker:stable\n    healthcheck:\n      test: ["CMD", "/bin/test", "-f", "/version"]\n      interval: 1s\n      retries: 3\n`,
    ) +
    svc('pinned', `    image: ${registry}/web@${pinned}\n`) +
    svc('built', `    build: ./ctx\n    image: local/built:1\n`) +
    svc('gone', `    image: ${registry}/web:removed-tag\n`) +
    svc('offline', `    image: 127.0.0.1:1/ghost:1\n`)
  );
}

async function setup(t: Test, version: 'v1' | 'v2'): Promise<Rig> {
  const engine = await startEngine();
  t.teardown(() => engine.stop());
  const { registry } = engine;
  const digests: Record<string, string> = {};
  digests.web1 = await engine.publish('web', 'stable', 'web 1');
  digests.worker1 = await engine.publish('worker', 'stable', 'worker 1');
  // Local-only images: a built one, one whose tag the registry lost, one from a registry that does not answer.
  await engine.docker(['tag', `${registry}/web:stable`, 'local/built:1']);
  await engine.docker(['tag', `${registry}/web:stable`, `${registry}/web:removed-tag`]);
  await engine.docker(['tag', `${registry}/web:stable`, '127.0.0.1:1/ghost:1']);

  // What the ssh sessions may run.
  const bin = path.join(engine.dir, 'bin');
  fs.mkdirSync(bin);
  const tools: Record<string, string> = { docker: dockerBinary()!, 'docker-compose': '/usr/bin/docker-compose', curl: '/usr/bin/curl' };
  for (const tool of ['sh', 'cat', 'printf', 'test', 'env', 'id', 'uname']) tools[tool] = fs.existsSync(`/usr/bin/${tool}`) ? `/usr/bin/${tool}` : `/bin/${tool}`;
  for (const [name, target] of Object.entries(tools)) if (version === 'v1' || name !== 'docker-compose') fs.symlinkSync(target, path.join(bin, name));
  const dockerConfig = path.join(engine.dir, 'docker-config');
  fs.mkdirSync(path.join(dockerConfig, 'cli-plugins'), { recursive: true });
  if (version === 'v2') fs.symlinkSync(composeV2Binary()!, path.join(dockerConfig, 'cli-plugins', 'docker-compose'));
  // A credential for another registry: read and matched by name, never used for ours.
  fs.writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { 'registry.example.org': { auth: Buffer.from('u:p').toString('base64') } } }));

  // Two stack hosts on one sshd: 127.0.0.1 and 127.0.0.2.
  const sshd = await startSshd({ env: { DOCKER_HOST: engine.host, DOCKER_CONFIG: dockerConfig, PATH: bin }, extraConfig: ['ListenAddress 127.0.0.2'] });
  t.teardown(() => sshd.stop());
  const key = keygen(path.join(engine.dir, 'id_ed25519'));
  sshd.authorize('root', publicKeyLine(key));

  const stacks: [string, string] = ['a', 'b'].map((n) => {
    const dir = path.join(engine.dir, 'stacks', `shop-${n}`);
    fs.mkdirSync(path.join(dir, 'ctx'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\n');
    // v1 reads docker-compose.yml, v2 the newer compose.yaml: both names are found.
    fs.writeFileSync(path.join(dir, version === 'v1' ? 'docker-compose.yml' : 'compose.yaml'), composeFile(registry, digests.web1));
    return dir;
  }) as [string, string];
  const env = { ...process.env, DOCKER_HOST: engine.host, DOCKER_CONFIG: dockerConfig, PATH: `${bin}:${process.env.PATH}` };
  for (const dir of stacks) {
    const compose = version === 'v1' ? ['docker-compose'] : ['docker', 'compose'];
    const { execFileSync } = await import('node:child_process');
    execFileSync(compose[0]!, [...compose.slice(1), 'up', '-d'], { cwd: dir, env, stdio: 'pipe' });
  }

  const d = await startDaemon({
    workers: 1,
    daemon: `[daemon.ssh]\nhost_key_policy = "accept-new"\nknown_hosts = "${path.join(engine.dir, 'known_hosts')}"\n`,
    toml: HOSTS.map(
      (name, i) =>
        `[[host]]\nname = "${name}"\naddr = "127.0.0.${i + 1}"\nport = ${sshd.port}\nuser = "root"\nssh_key = "${key}"\n` +
        // The first host names its Compose; the second detects it (its session has only that one).
        `compose_paths = ["${stacks[i]}"]\n` + (i === 0 ? `[host.docker]\ncompose_version = "${version}"\n` : ''),
    ).join(''),
  });
  t.teardown(() => d.stop());
  const events = await recordEvents(d);
  t.teardown(() => events.close());
  return { engine, sshd, d, events, stacks, digests };
}

async function update(r: Rig, host: string, dryRun: boolean): Promise<any> {
  const before = r.events.of(host, 'UpdateCompleted').length;
  const res = await r.d.request('POST', `/hosts/${host}/update`, { dry_run: dryRun });
  if (res.status !== 202) throw new Error(`update ${host}: ${res.status} ${res.text}`);
  try {
    // A failure before the upgrade (the query) ends the job without an UpdateCompleted: stop waiting then too.
    const done = await until(async () => {
      const e = r.events.of(host, 'UpdateCompleted')[before];
      if (e) return e;
      const s = await r.d.get(`/hosts/${host}`);
      if (s.body?.state === 'failed' && s.body.failed?.previous_state !== 'updating') throw new Error(`failed: ${s.body.error}`);
      return null;
    }, 120_000, 200);
    return done.result;
  } catch (err) {
    const status = await r.d.get(`/hosts/${host}`);
    const logs = r.d.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n');
    throw new Error(`${host}: no UpdateCompleted (${(err as Error).message}); status ${status.text}\n${logs}`);
  }
}

const names = (list: any[]) => list.map((p) => p.name.slice(p.name.lastIndexOf(':') + 1)).sort();

export function composeEngineSuite(version: 'v1' | 'v2'): void {
  // Two engines, registries and daemons one after the other on a shared machine: minutes, not seconds.
  t.setTimeout(900_000);
  const missing = canRunSshd() ?? missingDockerParts(version);
  if (missing) {
    // In CI every part is installed (.ci/run): a missing one is a failure, not a skip.
    if (process.env.CI === 'true') t.fail(`compose ${version} engine test cannot run: ${missing}`);
    else t.plan(0, `compose ${version} engine tests skipped: ${missing}`);
    return;
  }

  t.test(`compose ${version}: registry digests find moved tags without pulling; a rollout moves exactly them`, async (t) => {
    const r = await setup(t, version);
    const { registry } = r.engine;
    const [a] = r.stacks;

    const quiet = await update(r, 'stack-a', true);
    t.equal(quiet.success, true, 'dry run with nothing moved');
    t.same(quiet.packages, [], 'nothing pending');
    const skipped = Object.fromEntries(quiet.skipped.map((s: any) => [s.name.slice(a.length + 1), s]));
    t.same(Object.keys(skipped).sort(), ['built', 'gone', 'offline', 'pinned']);
    t.match(skipped.built, { code: null, reason: /build:/ });
    t.match(skipped.pinned, { code: null, reason: new RegExp(r.digests.web1) });
    t.match(skipped.gone, { code: 'REGISTRY_TAG_NOT_FOUND', reason: /removed-tag/ });
    t.match(skipped.offline, { code: 'REGISTRY_UNREACHABLE', reason: /127\.0\.0\.1:1/ });

    r.digests.web2 = await r.engine.publish('web', 'stable', 'web 2');
    const localBefore = await r.engine.docker(['image', 'inspect', '--format', '{{.Id}}', `${registry}/web:stable`]);
    const dry = await update(r, 'stack-a', true);
    t.same(names(dry.packages), ['web'], 'only web moved');
    t.match(dry.packages[0], { current_version: r.digests.web1, new_version: r.digests.web2, repository: `${registry}/web:stable`, kind: 'compose' });
    const host = await waitForState(r.d, 'stack-a', 'idle');
    t.equal(host.pending_updates, 1, 'the query counted the moved service');
    t.equal(
      await r.engine.docker(['image', 'inspect', '--format', '{{.Id}}', `${registry}/web:stable`]),
      localBefore,
      'a dry run pulled nothing',
    );

    const roll = await r.d.request('POST', '/fleet/update', { batch_size: 1 });
    t.equal(roll.status, 202, roll.text);
    for (const h of ['stack-a', 'stack-b']) {
      const done = await until(() => r.events.of(h, 'UpdateCompleted').find((e) => !e.result.dry_run), 180_000, 100).catch(async (err) => {
        const job = await r.d.get(`/jobs/${roll.body.job_id ?? roll.body.id}`);
        throw new Error(`${h}: ${(err as Error).message}; job ${job.text}; events ${JSON.stringify(r.events.of(h).slice(-8))}`);
      });
      const res = done.result;
      t.equal(res.success, true, `${h}: ${res.error}`);
      t.equal(res.upgraded, 1, `${h}: one service updated`);
      t.same(names(res.packages), ['web']);
      t.match(res.packages[0], { current_version: r.digests.web1, new_version: r.digests.web2 });
      const progress = r.events.of(h, 'UpdateProgress').map((e) => `${e.package.slice(e.package.lastIndexOf(':') + 1)} ${e.progress}`);
      t.ok(progress.includes('web pulling') || progress.includes('web pulled'), `${h}: pull progress streamed (${progress.join(', ')})`);
      if (version === 'v2') {
        // The simulator's compose persona prints these same lines (harness/simulator/personas/compose.ts).
        t.same(progress, ['web pulling', 'web pulled', 'web recreate', 'web recreated', 'web starting', 'web started'], `${h}: Compose 2.26's progress as the simulator replays it`);
      }
      t.notOk(progress.some((p) => p.startsWith('worker ')), `${h}: worker untouched`);
    }
    // Each web container now runs the new image; worker kept its container.
    for (const dir of r.stacks) {
      const ids = await r.engine.docker(['ps', '-q', '--filter', `label=com.docker.compose.project.working_dir=${dir}`, '--filter', 'label=com.docker.compose.service=web']);
      const img = await r.engine.docker(['inspect', '--format', '{{.Image}}', ids.trim().split('\n')[0]!]);
      const want = await r.engine.docker(['image', 'inspect', '--format', '{{.Id}}', `${registry}/web:stable`]);
      t.equal(img.trim(), want.trim(), `${path.basename(dir)}: web runs the pulled image`);
    }
    const after = await update(r, 'stack-b', true);
    t.same(after.packages, [], 'a second dry run shows nothing pending');
  });

  t.test(`compose ${version}: a service that does not start on its new image fails the host with its name and logs`, async (t) => {
    const r = await setup(t, version);
    await r.engine.publish('worker', 'stable', 'worker 2', ['/bin/sh', '-c', 'echo "boom: config missing"; exit 3']);
    const res = await update(r, 'stack-a', false);
    t.equal(res.success, false);
    t.equal(res.error_code, 'COMPOSE_SERVICE_FAILED');
    t.match(res.error, /service worker/);
    t.match(res.error, /boom: config missing/, 'the container log lines');
    const host = await waitForState(r.d, 'stack-a', 'failed');
    t.match(host.error, /worker/);
  });
}
