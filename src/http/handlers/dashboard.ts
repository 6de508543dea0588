// GET / and its assets: the live dashboard (src/ui). Public, so the page can
// load and then ask for a token; the data behind it is not. Served from
// memory with ETag (304) and gzip, under a CSP that forbids inline script
// and eval: the page runs only its own bundle and talks only to this daemon.
import { TendhostError } from '../../../common/errors.js';
import { defineRoute, type Route } from '../route.js';
import { ASSET_FILES, acceptsGzip, etagMatches, loadAssets, type AssetSet } from '../dashboard-assets.js';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SUMMARY: Record<string, string> = {
  '/': 'The live fleet dashboard (HTML page, public; the data it shows needs a token when auth is on)',
  '/ui/app.js': 'The dashboard script',
  '/ui/app.css': 'The dashboard style sheet',
};

export function dashboardRoutes(load: () => AssetSet = () => loadAssets()): Route[] {
  let set: AssetSet | null = null;
  return Object.entries(ASSET_FILES).map(([path, { contentType }]) => defineRoute({
    method: 'GET',
    path,
    summary: SUMMARY[path],
    tag: 'dashboard',
    auth: false,
    headers: ['if-none-match', 'accept-encoding'],
    responses: {
      200: { description: 'The file (gzip when accepted)', contentType },
      304: { description: 'Not modified (If-None-Match)' },
    },
    errors: ['DASHBOARD_NOT_BUILT'],
    handler(r) {
      set ??= load();
      if (!set.ok) throw new TendhostError('DASHBOARD_NOT_BUILT', `the dashboard assets are not built (${set.missing} missing): run make build`);
      // loadAssets reads every path of ASSET_FILES or says which is missing, so this finds it.
      const a = set.assets.get(path);
      if (!a) throw new TendhostError('DASHBOARD_NOT_BUILT', `the dashboard asset ${path} is not loaded`);
      // The page is re-checked every load (so a new build shows at once); its assets too, cheaply, by ETag.
      const headers: Record<string, string> = { etag: a.etag, 'cache-control': 'no-cache', vary: 'accept-encoding', 'x-content-type-options': 'nosniff' };
      if (path === '/') {
        headers['content-security-policy'] = CSP;
        headers['referrer-policy'] = 'no-referrer';
      }
      if (etagMatches(r.headers['if-none-match'], a.etag)) return { status: 304, headers, contentType };
      const gzip = acceptsGzip(r.headers['accept-encoding']);
      if (gzip) headers['content-encoding'] = 'gzip';
      return { status: 200, body: gzip ? a.gzip : a.raw, headers, contentType };
    },
  }));
}
