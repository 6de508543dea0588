// /openapi.json and /docs: the document is built once at start; the Scalar
// reference page and its script are served from the npm package's own files,
// so the docs work with no internet at all.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Route } from '../route.js';
import { RawJson, defineRoute } from '../route.js';

const require = createRequire(import.meta.url);

function scalarScript(): string {
  // The package's exports map has no './package.json'; its main entry is dist/index.js.
  const main = require.resolve('@scalar/api-reference');
  return readFileSync(join(dirname(main), 'browser/standalone.js'), 'utf8');
}

// Hosted-service features (AI agent, MCP, developer toolbar, telemetry) are
// off: this page talks to this daemon and to nothing else.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tendhost API</title>
</head>
<body>
<div id="app"></div>
<script src="/docs/standalone.js"></script>
<script>
Scalar.createApiReference('#app', {
  url: '/openapi.json',
  withDefaultFonts: false,
  hideClientButton: true,
  showDeveloperTools: 'never',
  showToolbar: 'never',
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  documentDownloadType: 'json',
  // Every operation is in the page from the start (readable without clicking, findable with Ctrl+F).
  defaultOpenAllTags: true,
});
</script>
</body>
</html>`;

export function docsRoutes(getSpec: () => object): Route[] {
  let specJson: string | null = null;
  let script: string | null = null;
  return [
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      summary: 'This OpenAPI 3.1 document',
      tag: 'system',
      responses: { 200: { description: 'OpenAPI document', contentType: 'application/json' } },
      handler() {
        specJson ??= JSON.stringify(getSpec());
        return { status: 200, body: new RawJson(specJson) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/docs',
      summary: 'API reference page (works offline)',
      tag: 'system',
      responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
      handler() {
        return { status: 200, body: PAGE, contentType: 'text/html; charset=utf-8' };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/docs/standalone.js',
      summary: 'The reference page script (from the @scalar/api-reference package)',
      tag: 'system',
      responses: { 200: { description: 'JavaScript', contentType: 'application/javascript' } },
      handler() {
        script ??= scalarScript();
        return { status: 200, body: script, contentType: 'application/javascript; charset=utf-8', headers: { 'cache-control': 'public, max-age=86400' } };
      },
    }),
  ];
}
