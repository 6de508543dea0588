// A Debian 12 host running Docker Engine with the Compose v2 plugin and one or
// more stacks. `images --format json` prints Compose v2's one-line JSON array
// (cmd/compose/images.go); `pull` makes newer images local, `up -d` recreates
// the containers whose image changed. No Docker runs on the build machines, so
// these shapes come from Compose's source, not from captures.
import { CMD } from '../../../workers/pkg/commands.js';
import type { ComposeStack } from '../host.js';
import { handleApt, DEBIAN_OS_RELEASE } from './debian.js';
import { readWord } from './shell.js';
import { exit, type ExecCtx, type Outcome, type Persona } from './types.js';

export const COMPOSE_VERSION = '2.29.7';

const IMAGES_TIME = '2026-11-20T09:12:44Z';

function imagesJson(stack: ComposeStack): string {
  const rows = stack.services.map((s) => ({
    ID: `sha256:${s.running}`,
    ContainerName: `${stack.project}-${s.name}-1`,
    Repository: s.image,
    Tag: s.tag,
    Platform: 'linux/amd64',
    Size: s.size,
    Created: IMAGES_TIME,
    LastTagTime: IMAGES_TIME,
  }));
  return JSON.stringify(rows) + '\n';
}

function pull(stack: ComposeStack): string {
  // Compose writes its progress to stderr; without a TTY it is one line per event.
  let err = '';
  for (const s of stack.services) err += ` ${s.name} Pulling \n`;
  for (const s of stack.services) {
    s.local = s.remote;
    err += ` ${s.name} Pulled \n`;
  }
  return err;
}

function up(stack: ComposeStack): string {
  let err = '';
  for (const s of stack.services) {
    const c = `${stack.project}-${s.name}-1`;
    if (s.running === s.local) {
      err += ` Container ${c}  Running\n`;
    } else {
      s.running = s.local;
      err += ` Container ${c}  Recreate\n Container ${c}  Recreated\n Container ${c}  Starting\n Container ${c}  Started\n`;
    }
  }
  return err;
}

function handleCompose(ctx: ExecCtx): Outcome | undefined {
  const { host, command } = ctx;
  if (command === CMD.composeVersion('v2')) return exit(0, COMPOSE_VERSION + '\n');
  const cd = /^cd (.*)$/s.exec(command);
  if (!cd) return undefined;
  const w = readWord(cd[1]);
  if (!w || !w.rest.startsWith('&&')) return undefined;
  const stack = host.stacks.find((s) => s.dir === w.word);
  if (!stack) return exit(2, '', `sh: 1: cd: can't cd to ${w.word}\n`);
  const dir = stack.dir;
  switch (command) {
    case CMD.composeFind(dir):
      return exit(0, stack.file + '\n');
    case CMD.composeImages('v2', dir):
      return exit(0, imagesJson(stack));
    case CMD.composePull('v2', dir):
      return exit(0, '', pull(stack));
    case CMD.composeUp('v2', dir):
      return exit(0, '', up(stack));
    case CMD.composeConfigImages('v2', dir):
      return exit(0, stack.services.map((s) => `${s.image}:${s.tag}\n`).join(''));
    default:
      // `docker-compose` (v1) is not installed next to the v2 plugin.
      if (w.rest.includes('docker-compose ')) return exit(127, '', 'sh: 1: docker-compose: not found\n');
      return undefined;
  }
}

export const compose: Persona = {
  name: 'compose',
  osRelease: DEBIAN_OS_RELEASE,
  tools: ['/usr/bin/apt-get', '/usr/bin/docker'],
  handle: (ctx) => handleCompose(ctx) ?? handleApt(ctx),
};
