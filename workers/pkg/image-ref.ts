// Image references as Docker reads them: `nginx`, `nginx:1.25`,
// `127.0.0.1:5000/app:2`, `ghcr.io/o/app@sha256:…`. The first path component
// is a registry when it has a `.` or a `:` or is `localhost`; otherwise the
// image lives on Docker Hub, whose one-word names sit under `library/`
// (distribution/reference `ParseNormalizedNamed`).

export interface ImageRef {
  /** As written in the compose file. */
  ref: string;
  /** Registry host[:port]; `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path inside the registry (`library/nginx`). */
  repository: string;
  tag: string;
  /** `sha256:…` when the reference pins a digest. */
  digest: string | null;
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : null;
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const colon = named.lastIndexOf(':');
  const hasTag = colon > named.lastIndexOf('/');
  const name = hasTag ? named.slice(0, colon) : named;
  const tag = hasTag ? named.slice(colon + 1) : 'latest';
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const isRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = isRegistry ? first : 'docker.io';
  let repository = isRegistry ? name.slice(slash + 1) : name;
  if (registry === 'index.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  return { ref, registry, repository, tag, digest };
}

/** The name two references share when they point at the same repository (`registry/repository`). */
export function repoKey(r: Pick<ImageRef, 'registry' | 'repository'>): string {
  return `${r.registry}/${r.repository}`;
}

/** The digest among an image's RepoDigests (`name@sha256:…`) that belongs to this reference's repository. */
export function digestFor(ref: ImageRef, repoDigests: readonly string[]): string | null {
  for (const rd of repoDigests) {
    const p = parseImageRef(rd);
    if (p.digest && repoKey(p) === repoKey(ref)) return p.digest;
  }
  return null;
}

/** Loopback registries speak plain HTTP (Docker trusts them without TLS); all others HTTPS. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The manifest URL the registry API (v2) answers for this tag. */
export function manifestUrl(ref: ImageRef): string {
  const host = ref.registry === 'docker.io' ? 'registry-1.docker.io' : ref.registry;
  const scheme = isLoopbackRegistry(ref.registry) ? 'http' : 'https';
  return `${scheme}://${host}/v2/${ref.repository}/manifests/${encodeURIComponent(ref.tag)}`;
}

/** Keys a docker config.json may use for this registry under `auths`. */
export function authKeysFor(registry: string): string[] {
  if (registry === 'docker.io') return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}
