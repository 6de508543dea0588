// The OpenAPI 3.1 document, built from the route table, its TypeBox schemas
// and the error table: nothing is described twice. The WebSocket stream is
// documented as its upgrade route plus its message schemas.
import { OpenApiBuilder, type OperationObject, type ParameterObject, type ResponsesObject, type SchemaObject } from 'openapi3-ts/oas31';
import type { TSchema } from 'typebox';
import { ERROR_CODES, type ErrorCode } from '../common/errors.js';
import type { Route } from './http/route.js';
import { routeErrorCodes, type PipelineSettings } from './http/route-errors.js';
import { ErrorBody } from '../common/schemas/requests.js';
import { ServerMessage, StreamEvent } from '../common/schemas/stream.js';

/** Routes served outside the route table (the WebSocket upgrade). */
export const WS_PATH = '/ws/events';

/** `/hosts/:name` → `/hosts/{name}` */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

function schema(s: TSchema): SchemaObject {
  // TypeBox schemas are plain JSON Schema; a JSON round trip drops anything else.
  return JSON.parse(JSON.stringify(s)) as SchemaObject;
}

function parameters(route: Route): ParameterObject[] {
  const out: ParameterObject[] = [];
  const add = (where: 'path' | 'query', s: TSchema | undefined) => {
    const obj = s as unknown as { properties?: Record<string, TSchema>; required?: string[] } | undefined;
    for (const [name, prop] of Object.entries(obj?.properties ?? {})) {
      const p: ParameterObject = {
        name,
        in: where,
        required: where === 'path' || (obj?.required ?? []).includes(name),
        schema: schema(prop),
      };
      const desc = (prop as { description?: string }).description;
      if (desc) p.description = desc;
      if ((prop as { type?: string }).type === 'array') {
        p.style = 'form';
        p.explode = true;
      }
      out.push(p);
    }
  };
  add('path', route.params);
  add('query', route.query);
  return out;
}

/**
 * Error answers by status; each one's schema narrows `code` to the codes that
 * status can carry on this operation, so clients (and the error test) read
 * exactly what the server may answer.
 */
export function errorResponses(codes: readonly ErrorCode[]): ResponsesObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: ResponsesObject = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: `Error: ${list.join(', ')}`,
      content: {
        'application/json': {
          schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { type: 'object', properties: { code: { type: 'string', enum: list } } }] },
        },
      },
    };
  }
  return out;
}

/** `GET /hosts/:name` → `getHostsName` */
function operationId(route: Route): string {
  return `${route.method.toLowerCase()}${route.path.replace(/[/:]+([a-z])/g, (_, c: string) => c.toUpperCase()).replace(/[^A-Za-z]/g, '')}`;
}

/** The route's own answers (its response table), then every error it can answer. */
function routeResponses(route: Route, pipeline: PipelineSettings): ResponsesObject {
  const responses: ResponsesObject = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    responses[status] = spec.schema
      ? { description: spec.description, content: { [spec.contentType ?? 'application/json']: { schema: schema(spec.schema) } } }
      : spec.contentType
        ? { description: spec.description, content: { [spec.contentType]: { schema: { type: 'string' } } } }
        : { description: spec.description };
  }
  return Object.assign(responses, errorResponses(routeErrorCodes(route, pipeline)));
}

function operation(route: Route, pipeline: PipelineSettings): OperationObject {
  const op: OperationObject = {
    summary: route.summary,
    operationId: operationId(route),
    tags: [route.tag],
    parameters: parameters(route),
    responses: routeResponses(route, pipeline),
  };
  op.security = route.auth === false || !pipeline.auth ? [] : [{ bearer: [] }];
  if (route.body) {
    op.requestBody = { required: false, content: { 'application/json': { schema: schema(route.body) } } };
  }
  return op;
}

const listParam = (name: string): ParameterObject => ({ name, in: 'query', required: false, schema: { type: 'array', items: { type: 'string' } }, style: 'form', explode: true });

/** The WebSocket stream, outside the route table: its upgrade and what it sends. */
function wsOperation(authEnabled: boolean): OperationObject {
  return {
    summary: 'Event stream (WebSocket upgrade)',
    operationId: 'getWsEvents',
    tags: ['events'],
    description:
      'Upgrade to a WebSocket. First message: `Snapshot` {seq, hosts[]} (or, with `since`, the missed events, or `Resync` + `Snapshot` ' +
      'when the replay buffer no longer reaches back). Then every event (one of `StreamEvent`; every message: `StreamMessage`) with a monotonic `seq`. `HostUpdated` carries a host’s whole status after any change, so a client that applies it holds what `GET /hosts` serves. ' +
      'Send `{"type":"filter", hosts?, tags?, groups?, types?}` to change the filter. A client too slow to keep up is closed with code 4008.',
    security: authEnabled ? [{ bearer: [] }] : [],
    parameters: [
      { name: 'since', in: 'query', required: false, schema: { type: 'integer', minimum: 0 }, description: 'Resume after this seq' },
      listParam('hosts'),
      listParam('tags'),
      listParam('groups'),
      listParam('types'),
      { name: 'token', in: 'query', required: false, schema: { type: 'string' }, description: 'Bearer token for browsers' },
    ],
    responses: {
      '101': { description: 'Switching to the WebSocket protocol' },
      // The upgrade is decided in ws.ts: a bad since/types, or (auth on) a missing token.
      ...errorResponses(authEnabled ? ['VALIDATION_FAILED', 'UNAUTHORIZED'] : ['VALIDATION_FAILED']),
    },
  };
}

export function buildOpenApi(routes: Route[], version: string, pipeline: PipelineSettings): object {
  const b = OpenApiBuilder.create()
    .addOpenApiVersion('3.1.0')
    .addTitle('tendhost')
    .addVersion(version)
    .addDescription(
      'Fleet-update daemon: one host actor per machine. Actions answer `202 {job_id}` at once; ' +
        'follow them on `GET /jobs/{id}` or the `/ws/events` stream. Errors are `{code, message}` with a stable code.',
    )
    .addSchema('Error', schema(ErrorBody))
    .addSchema('StreamEvent', schema(StreamEvent))
    .addSchema('StreamMessage', schema(ServerMessage))
    .addSecurityScheme('bearer', { type: 'http', scheme: 'bearer', description: 'A token whose sha256 is in [daemon.auth] tokens' })
    .addSchema('ErrorCode', { type: 'string', enum: Object.keys(ERROR_CODES), description: 'Every error code the daemon uses' });
  for (const route of routes) {
    const path = openApiPath(route.path);
    const existing = (b.getSpec().paths ?? {})[path] ?? {};
    b.addPath(path, { ...existing, [route.method.toLowerCase()]: operation(route, pipeline) });
  }
  b.addPath(WS_PATH, { get: wsOperation(pipeline.auth) });
  const spec = b.getSpec() as unknown as Record<string, unknown>;
  spec['x-error-codes'] = Object.entries(ERROR_CODES).map(([code, v]) => ({ code, status: v.status, message: v.message }));
  return spec;
}
