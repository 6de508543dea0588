// A Debian 12 host running Docker Engine with the Compose v2 plugin and one or
// more stacks. It answers the commands of workers/pkg/compose.ts in the shapes
// the real tools print — dockerd 20.10, Compose 2.26 and registry 2.8, as run
// by test/compose-engine-v2.test.ts (which checks that the real pull/up
// progress reads as the same events this persona produces): `config` YAML,
// `docker image inspect` digests, the registry's HEAD answer, `pull`/`up -d`
// progress on stderr, `ps -a -q` and `docker inspect` states. A service's
// `running`/`local`/`remote` stand for image digests (and ids): `pull` makes
// the registry's local, `up -d` recreates the containers whose image changed.
import { CMD } from '../../../workers/pkg/commands.js';
import { manifestUrl, parseImageRef } from '../../../workers/pkg/image-ref.js';
import type { ComposeService, ComposeStack } from '../host.js';
import { handleApt, DEBIAN_OS_RELEASE } from './debian.js';
import { readWord } from './shell.js';
import { exit, hash32, type ExecCtx, type Outcome, type Persona } from './types.js';

export const COMPOSE_VERSION = '2.26.1';

const refOf = (s: ComposeService) => `${s.image}:${s.tag}`;
const containerName = (stack: ComposeStack, s: ComposeService) => `${stack.project}-${s.name}-1`;
const containerId = (stack: ComposeStack, s: ComposeService) => {
  let id = '';
  for (let i = 0; id.length < 64; i++) id += hash32(`${containerName(stack, s)}/${s.running}/${i}`).toString(16).padStart(8, '0');
  return id.slice(0, 64);
};

/** `docker compose config` (2.26): the resolved file, keys sorted, a default network. */
function config(stack: ComposeStack): string {
  let y = `name: ${stack.project}\nservices:\n`;
  for (const s of stack.services) y += `  ${s.name}:\n    image: ${refOf(s)}\n    networks:\n      default: null\n`;
  y += `networks:\n  default:\n    name: ${stack.project}_default\n`;
  return y;
}

function imageDigests(services: ComposeService[], refs: string[]): string {
  let out = '';
  for (const ref of refs) {
    // An image id (what a container runs) or a tag.
    const byId = services.find((x) => `sha256:${x.running}` === ref);
    if (byId) {
      out += `${ref}\t${ref}\t["${byId.image}@${ref}"]\n`;
      continue;
    }
    const s = services.find((x) => refOf(x) === ref);
    out += s ? `${ref}\tsha256:${s.local}\t["${s.image}@sha256:${s.local}"]\n` : `${ref}\t\n`;
  }
  return out;
}

/** The registry's answer to a manifest HEAD (distribution 2.8's headers). */
function head(s: ComposeService): string {
  return (
    'HTTP/1.1 200 OK\r\nContent-Length: 528\r\n' +
    'Content-Type: application/vnd.docker.distribution.manifest.v2+json\r\n' +
    `Docker-Content-Digest: sha256:${s.remote}\r\nDocker-Distribution-Api-Version: registry/2.0\r\n` +
    `Etag: "sha256:${s.remote}"\r\nX-Content-Type-Options: nosniff\r\nDate: Sun, 06 Dec 2026 20:00:00 GMT\r\n\r\n`
  );
}

function pull(stacks: ComposeStack[], stack: ComposeStack, names: string[]): string {
  // Without a TTY, Compose 2.26 writes one line per event to stderr.
  let err = '';
  for (const n of names) err += ` ${n} Pulling \n`;
  for (const s of stack.services.filter((x) => names.includes(x.name))) {
    // The host has one image store: the pulled tag is new for every stack that uses it.
    for (const other of stacks.flatMap((st) => st.services)) if (refOf(other) === refOf(s)) other.local = s.remote;
    err += ` ${s.name} Pulled \n`;
  }
  return err;
}

function up(stack: ComposeStack, names: string[]): string {
  let err = ` Network ${stack.project}_default  Creating\n Network ${stack.project}_default  Created\n`;
  for (const s of stack.services.filter((x) => names.includes(x.name))) {
    const c = containerName(stack, s);
    if (s.running === s.local) err += ` Container ${c}  Running\n`;
    else {
      s.running = s.local;
      err += ` Container ${c}  Recreate\n Container ${c}  Recreated\n Container ${c}  Starting\n Container ${c}  Started\n`;
    }
  }
  return err;
}

function states(stacks: ComposeStack[], ids: string[]): string {
  let out = '';
  for (const st of stacks) {
    for (const s of st.services) {
      const id = containerId(st, s);
      if (ids.includes(id)) out += `${id}\t${s.name}\tsha256:${s.running}\trunning\t\n`;
    }
  }
  return out;
}

function handleCompose(ctx: ExecCtx): Outcome | undefined {
  const { host, command } = ctx;
  if (command === CMD.composeVersion('v2')) return exit(0, COMPOSE_VERSION + '\n');
  if (command === CMD.dockerConfig) return exit(0);
  const all = host.stacks.flatMap((st) => st.services);
  if (command.startsWith('curl -sS -I ')) {
    const s = all.find((x) => command === CMD.registryHead(manifestUrl(parseImageRef(refOf(x)))));
    return s ? exit(0, head(s)) : undefined;
  }
  if (command.startsWith('for r in ')) {
    // The words between `for r in` and `; do`: tags and image ids, never quoted (no shell metacharacters).
    const refs = command.slice('for r in '.length, command.indexOf('; do')).split(' ').filter(Boolean);
    return command === CMD.imageDigests(refs) ? exit(0, imageDigests(all, refs)) : undefined;
  }
  if (command.startsWith('docker inspect ')) {
    const ids = command.split(' ').filter((w) => /^[0-9a-f]{64}$/.test(w));
    return exit(0, states(host.stacks, ids));
  }
  const cd = /^cd (.*)$/s.exec(command);
  if (!cd) return undefined;
  const w = readWord(cd[1]);
  if (!w || !w.rest.startsWith('&&')) return undefined;
  const stack = host.stacks.find((s) => s.dir === w.word);
  if (!stack) return exit(2, '', `sh: 1: cd: can't cd to ${w.word}\n`);
  const dir = stack.dir;
  const names = stack.services.map((s) => s.name);
  const listed = (make: (d: string, n: string[]) => string) => {
    const prefix = make(dir, []);
    if (!command.startsWith(prefix)) return null;
    const want = command.slice(prefix.length).split(' ').filter(Boolean);
    return want.every((n) => names.includes(n)) ? want : null;
  };
  if (command === CMD.composeFind(dir)) return exit(0, stack.file + '\n');
  if (command === CMD.composeConfig('v2', dir)) return exit(0, config(stack));
  if (command === CMD.composePs('v2', dir)) return exit(0, stack.services.map((s) => containerId(stack, s) + '\n').join(''));
  const p = listed((d, n) => CMD.composePull('v2', d, n));
  if (p) return exit(0, '', pull(host.stacks, stack, p));
  const u = listed((d, n) => CMD.composeUp('v2', d, n));
  if (u) return exit(0, '', up(stack, u));
  // `docker-compose` (v1) is not installed next to the v2 plugin.
  if (w.rest.includes('docker-compose ')) return exit(127, '', 'sh: 1: docker-compose: not found\n');
  return undefined;
}

export const compose: Persona = {
  name: 'compose',
  osRelease: DEBIAN_OS_RELEASE,
  tools: ['/usr/bin/apt-get', '/usr/bin/docker'],
  handle: (ctx) => handleCompose(ctx) ?? handleApt(ctx),
};
