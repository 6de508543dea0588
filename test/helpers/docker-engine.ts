// A real Docker engine and registry for the compose tests: dockerd (Debian
// docker.io) on its own socket, data root and exec root, and the distribution
// registry (Debian docker-registry) on a loopback port. Images come from no
// network: a folder with busybox-static is imported and pushed. Everything is
// started here and stopped by pid.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../harness/sshd.js';

const run = promisify(execFile);

const DOCKERD = '/usr/sbin/dockerd';
const REGISTRY = '/usr/bin/docker-registry';
const BUSYBOX = '/bin/busybox';
/** Where Compose v2 (a Go binary from Debian 13's docker-compose) may be: the Debian path, then the CI setup's cache. */
const COMPOSE_V2_PLACES = ['/usr/libexec/docker/cli-plugins/docker-compose', '/var/cache/tendhost-ci/compose-v2/docker-compose'];

export function composeV2Binary(): string | null {
  const env = process.env.TENDHOST_COMPOSE_V2;
  for (const p of env ? [env] : COMPOSE_V2_PLACES) if (fs.existsSync(p)) return p;
  return null;
}

export function dockerBinary(): string | null {
  for (const p of ['/usr/bin/docker', '/usr/local/bin/docker']) if (fs.existsSync(p)) return p;
  return null;
}

/** Why the engine tests cannot run here, or null. */
export function missingDockerParts(version: 'v1' | 'v2'): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'dockerd needs root';
  const missing: string[] = [];
  if (!fs.existsSync(DOCKERD) || !dockerBinary()) missing.push('docker.io');
  if (!fs.existsSync(REGISTRY)) missing.push('docker-registry');
  if (!fs.existsSync(BUSYBOX)) missing.push('busybox-static');
  if (!fs.existsSync('/usr/bin/curl')) missing.push('curl');
  if (version === 'v1' && !fs.existsSync('/usr/bin/docker-compose')) missing.push('docker-compose (v1)');
  if (version === 'v2' && !composeV2Binary()) missing.push('Compose v2 (run .ci/setup/compose-v2.sh)');
  return missing.length ? `missing: ${missing.join(', ')}` : null;
}

export interface Engine {
  dir: string;
  /** `unix://…` for DOCKER_HOST. */
  host: string;
  registry: string;
  docker(args: string[], input?: Buffer): Promise<string>;
  /**
   * Import a busybox image whose /version holds `content`, tag it `<registry>/<name>:<tag>` and push it;
   * returns the pushed digest. A tag the engine already had points at its old image again afterwards.
   */
  publish(name: string, tag: string, content: string, cmd?: string[]): Promise<string>;
  stop(): Promise<void>;
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs: number, log: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not start in ${timeoutMs} ms:\n${log().slice(-3000)}`);
}

function stopChild(p: ChildProcess | null, timeoutMs = 20_000): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

export async function startEngine(): Promise<Engine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendhost-docker-'));
  const sock = path.join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  let dlog = '';
  // No bridge, no iptables: the stacks use network_mode none, and nothing here touches the host's network.
  const dockerd = spawn(
    DOCKERD,
    [
      '--host', host, '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
      '--pidfile', path.join(dir, 'docker.pid'), '--bridge', 'none', '--iptables=false', '--ip-masq=false',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  dockerd.stderr!.on('data', (c: Buffer) => (dlog += c.toString()));
  const docker = async (args: string[], input?: Buffer): Promise<string> => {
    const p = run(dockerBinary()!, ['-H', host, ...args], { maxBuffer: 64 * 1024 * 1024 });
    if (input) {
      p.child.stdin!.end(input);
    }
    return (await p).stdout;
  };
  let registryProc: ChildProcess | null = null;
  try {
    await waitFor('dockerd', async () => (await docker(['version', '--format', '{{.Server.Version}}'])).trim() !== '', 60_000, () => dlog);
    const port = await freePort();
    const cfg = path.join(dir, 'registry.yml');
    fs.writeFileSync(
      cfg,
      `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'registry')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    let rlog = '';
    registryProc = spawn(REGISTRY, ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    registryProc.stdout!.on('data', (c: Buffer) => (rlog += c.toString()));
    registryProc.stderr!.on('data', (c: Buffer) => (rlog += c.toString()));
    await waitFor('docker-registry', async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).ok, 20_000, () => rlog);
    const registry = `127.0.0.1:${port}`;
    const rp = registryProc;
    return {
      dir,
      host,
      registry,
      docker,
      async publish(name, tag, content, cmd = ['/bin/sleep', '3600']) {
        const root = fs.mkdtempSync(path.join(dir, 'root-'));
        fs.mkdirSync(path.join(root, 'bin'));
        fs.copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
        fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
        for (const tool of ['sh', 'sleep', 'echo', 'cat', 'test', 'true']) fs.symlinkSync('busybox', path.join(root, 'bin', tool));
        fs.writeFileSync(path.join(root, 'version'), content + '\n');
        const { stdout: tar } = await run('tar', ['-C', root, '-c', '.'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
        const ref = `${registry}/${name}:${tag}`;
        // The engine is also the stack host: a new version goes to the registry only, the host keeps its tag.
        const held = (await docker(['image', 'ls', '-q', '--no-trunc', ref])).trim();
        await docker(['import', '--change', `CMD ${JSON.stringify(cmd)}`, '-', ref], tar);
        const pushed = await docker(['push', ref]);
        if (held) await docker(['tag', held, ref]);
        fs.rmSync(root, { recursive: true, force: true });
        const m = /digest: (sha256:[0-9a-f]{64})/.exec(pushed);
        if (!m) throw new Error(`no digest in docker push output:\n${pushed}`);
        return m[1];
      },
      async stop() {
        await stopChild(rp);
        await stopChild(dockerd, 30_000);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopChild(registryProc);
    await stopChild(dockerd, 30_000);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
