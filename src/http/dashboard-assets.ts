// The dashboard's built files (dist/ui, written by tools/build-ui.mjs), read
// once into memory with a strong ETag and a gzip copy each, so serving one is
// a map lookup: no disk, no compression per request.
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export interface Asset {
  contentType: string;
  etag: string;
  raw: Buffer;
  gzip: Buffer;
}

/** The files the page needs, by URL path; the page itself is `/`. */
export const ASSET_FILES: Record<string, { file: string; contentType: string }> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', contentType: 'application/javascript; charset=utf-8' },
  '/ui/app.css': { file: 'app.css', contentType: 'text/css; charset=utf-8' },
};

/** Compiled to dist/src/http/, so the built UI is at dist/ui/. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

export type AssetSet = { ok: true; assets: Map<string, Asset> } | { ok: false; missing: string };

export function loadAssets(dir = DEFAULT_UI_DIR): AssetSet {
  const assets = new Map<string, Asset>();
  for (const [path, { file, contentType }] of Object.entries(ASSET_FILES)) {
    const full = join(dir, file);
    if (!existsSync(full)) return { ok: false, missing: file };
    const raw = readFileSync(full);
    const etag = `"${createHash('sha256').update(raw).digest('base64url').slice(0, 22)}"`;
    assets.set(path, { contentType, etag, raw, gzip: gzipSync(raw, { level: 9 }) });
  }
  return { ok: true, assets };
}

/** True when an If-None-Match header names this ETag (or is `*`). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** gzip unless the client ruled it out (absent header, or `gzip;q=0`). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}
