// The digest a registry serves for a tag, asked the way Watchtower and Diun
// do: a HEAD on the manifest (registry API v2), whose Docker-Content-Digest
// is what `docker pull` would record in the image's RepoDigests. Nothing is
// pulled and nothing changes on the host. The request runs on the host (its
// curl, its network, its docker config's credentials); credentials and
// tokens go to curl on stdin (`-K -`), never on its command line.
import { TendhostError } from '../../common/errors.js';
import type { Executor } from '../exec/types.js';
import { CMD } from './commands.js';
import type { DriverContext } from './driver.js';
import { authKeysFor, manifestUrl, type ImageRef } from './image-ref.js';
import { splitLines } from './run.js';

/** Registry credentials from the host's docker config (`auths`), as `user:password`. */
export type Credentials = Map<string, string>;

export function parseDockerConfig(text: string): Credentials {
  const out: Credentials = new Map();
  if (text.trim() === '') return out;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return out; // an unreadable config: docker itself would fail the pull and say so
  }
  const auths = (json as { auths?: Record<string, { auth?: string; username?: string; password?: string }> }).auths ?? {};
  for (const [key, v] of Object.entries(auths)) {
    if (v.auth) out.set(key, Buffer.from(v.auth, 'base64').toString('utf8'));
    else if (v.username !== undefined && v.password !== undefined) out.set(key, `${v.username}:${v.password}`);
  }
  return out;
}

export async function readCredentials(exec: Executor, ctx: DriverContext): Promise<Credentials> {
  const r = await exec.run(CMD.dockerConfig, { timeoutMs: ctx.timeoutMs, maxOutputBytes: 1024 * 1024 });
  return r.exitCode === 0 ? parseDockerConfig(r.stdout) : new Map();
}

function credentialsFor(creds: Credentials, registry: string): string | null {
  for (const k of authKeysFor(registry)) {
    const c = creds.get(k);
    if (c !== undefined) return c;
  }
  return null;
}

/** One curl config line (`name = "value"`, curl's quoting). */
function curlLine(name: string, value: string): string {
  return `${name} = "${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"\n`;
}

interface HeadAnswer {
  status: number;
  headers: Map<string, string>;
}

/** `curl -I` output: the last response's status line and headers. */
export function parseHeadOutput(stdout: string): HeadAnswer | null {
  let answer: HeadAnswer | null = null;
  for (const line of splitLines(stdout)) {
    const s = /^HTTP\/[\d.]+\s+(\d{3})/.exec(line);
    if (s) {
      answer = { status: Number(s[1]), headers: new Map() };
      continue;
    }
    const h = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (h && answer) answer.headers.set(h[1].toLowerCase(), h[2].trim());
  }
  return answer;
}

/** `Bearer realm="…",service="…",scope="…"` → the token URL to ask. */
export function bearerTokenUrl(challenge: string): string | null {
  if (!/^Bearer\s/i.test(challenge)) return null;
  const params = new Map<string, string>();
  for (const m of challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params.set(m[1], m[2]);
  const realm = params.get('realm');
  if (!realm) return null;
  const q = new URLSearchParams();
  for (const k of ['service', 'scope']) {
    const v = params.get(k);
    if (v) q.set(k, v);
  }
  return `${realm}${realm.includes('?') ? '&' : '?'}${q.toString()}`;
}

/** curl exit codes that mean the registry was never reached (resolve, connect, TLS, timeout). */
function unreachable(ref: ImageRef, exitCode: number | null, stderr: string): TendhostError {
  const why =
    exitCode === 127 ? 'curl is not installed on the host' : stderr.trim().split('\n').pop()?.replace(/^curl: \(\d+\)\s*/, '') || `curl exited ${exitCode}`;
  return new TendhostError('REGISTRY_UNREACHABLE', `registry ${ref.registry} unreachable for ${ref.ref}: ${why}`, {
    registry: ref.registry,
    image: ref.ref,
    curl_exit: exitCode,
  });
}

/**
 * The registry's current digest for a reference's tag, or a typed error:
 * REGISTRY_UNREACHABLE, REGISTRY_REFUSED (401/403 and other refusals),
 * REGISTRY_TAG_NOT_FOUND (404).
 */
export async function registryDigest(exec: Executor, ctx: DriverContext, ref: ImageRef, creds: Credentials): Promise<string> {
  const url = manifestUrl(ref);
  const basic = credentialsFor(creds, ref.registry);
  const head = async (auth: string): Promise<HeadAnswer> => {
    const r = await exec.run(CMD.registryHead(url), { timeoutMs: ctx.timeoutMs, maxOutputBytes: 64 * 1024, input: auth });
    if (r.exitCode !== 0) throw unreachable(ref, r.exitCode, r.stderr);
    const a = parseHeadOutput(r.stdout);
    if (!a) throw unreachable(ref, r.exitCode, `no HTTP answer from ${url}`);
    return a;
  };
  let answer = await head(basic !== null ? curlLine('user', basic) : '');
  const challenge = answer.headers.get('www-authenticate') ?? '';
  const tokenUrl = answer.status === 401 ? bearerTokenUrl(challenge) : null;
  if (tokenUrl) {
    const token = await bearerToken(exec, ctx, ref, tokenUrl, basic);
    answer = await head(curlLine('header', `Authorization: Bearer ${token}`));
  }
  const details = { registry: ref.registry, image: ref.ref, status: answer.status };
  if (answer.status === 200) {
    const digest = answer.headers.get('docker-content-digest');
    if (digest) return digest;
    throw new TendhostError('REGISTRY_REFUSED', `registry ${ref.registry} sent no Docker-Content-Digest for ${ref.ref}`, details);
  }
  if (answer.status === 404) {
    throw new TendhostError('REGISTRY_TAG_NOT_FOUND', `registry ${ref.registry} has no tag ${ref.tag} of ${ref.repository}`, details);
  }
  if (answer.status >= 500) {
    throw new TendhostError('REGISTRY_UNREACHABLE', `registry ${ref.registry} answered ${answer.status} for ${ref.ref}`, details);
  }
  const who = basic !== null ? 'the credentials in the host\'s docker config' : 'anonymous access (no credentials for it in the host\'s docker config)';
  throw new TendhostError('REGISTRY_REFUSED', `registry ${ref.registry} refused ${who} for ${ref.ref} (HTTP ${answer.status})`, details);
}

async function bearerToken(exec: Executor, ctx: DriverContext, ref: ImageRef, tokenUrl: string, basic: string | null): Promise<string> {
  const r = await exec.run(CMD.registryGet(tokenUrl), {
    timeoutMs: ctx.timeoutMs,
    maxOutputBytes: 256 * 1024,
    input: basic !== null ? curlLine('user', basic) : '',
  });
  if (r.exitCode !== 0) throw unreachable(ref, r.exitCode, r.stderr);
  let body: { token?: string; access_token?: string } = {};
  try {
    body = JSON.parse(r.stdout) as typeof body;
  } catch {
    // no token below
  }
  const token = body.token ?? body.access_token;
  if (!token) {
    throw new TendhostError('REGISTRY_REFUSED', `the token service of ${ref.registry} gave no token for ${ref.ref}`, {
      registry: ref.registry,
      image: ref.ref,
    });
  }
  return token;
}
