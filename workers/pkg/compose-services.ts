// Pure readers for what the Compose driver asks a host: the resolved
// configuration (`config`, YAML in v1 and v2), the local images' digests
// (`docker image inspect`) and the containers' states (`docker inspect`).
import { parse as parseYaml } from 'yaml';
import { splitLines } from './run.js';

export interface ComposeService {
  name: string;
  /** `image:` as resolved by Compose (variables substituted), or null. */
  image: string | null;
  /** Has a `build:` section: the image is built on the host, not pulled. */
  build: boolean;
}

/** Services of `compose config` output, in file order. */
export function parseComposeConfig(text: string): ComposeService[] {
  const doc = parseYaml(text) as { services?: Record<string, { image?: unknown; build?: unknown } | null> } | null;
  const services = doc?.services;
  if (!services || typeof services !== 'object') throw new Error('no services: section');
  return Object.entries(services).map(([name, s]) => ({
    name,
    image: typeof s?.image === 'string' ? s.image : null,
    build: s?.build !== undefined && s?.build !== null,
  }));
}

export interface LocalImage {
  id: string;
  repoDigests: string[];
}

/** `ref<TAB>id<TAB>[…]` lines (CMD.imageDigests); a reference with no local image maps to null. */
export function parseImageDigests(stdout: string): Map<string, LocalImage | null> {
  const out = new Map<string, LocalImage | null>();
  for (const line of splitLines(stdout)) {
    if (line.trim() === '') continue;
    const [ref, id, digests] = line.split('\t');
    if (!ref) continue;
    if (!id) {
      out.set(ref, null);
      continue;
    }
    let repoDigests: string[] = [];
    try {
      const parsed = JSON.parse(digests ?? '[]') as unknown;
      if (Array.isArray(parsed)) repoDigests = parsed.filter((d): d is string => typeof d === 'string');
    } catch {
      // `null` or nothing: an image built or imported here has no registry digest
    }
    out.set(ref, { id: id.trim(), repoDigests });
  }
  return out;
}

export interface ContainerState {
  id: string;
  service: string;
  image: string;
  /** created, running, restarting, paused, exited, dead. */
  status: string;
  /** starting, healthy, unhealthy; null without a healthcheck. */
  health: string | null;
}

/** `id<TAB>service<TAB>image<TAB>status<TAB>health` lines (CMD.containerStates). */
export function parseContainerStates(stdout: string): ContainerState[] {
  const out: ContainerState[] = [];
  for (const line of splitLines(stdout)) {
    const [id, service, image, status, health] = line.split('\t');
    if (!id || !status) continue;
    out.push({ id, service: service ?? '', image: image ?? '', status, health: health ? health.trim() || null : null });
  }
  return out;
}
