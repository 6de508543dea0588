// Response header names and content types as bytes, encoded once. uWS encodes
// a string argument to UTF-8 into a fresh allocation on every call, and takes
// bytes as they are; these go out on every answer. (Buffers, not bare
// Uint8Arrays: the pure-JS fallback turns arguments back into text with
// toString(), which only a Buffer answers with its text.)
export const CONTENT_TYPE = Buffer.from('content-type');
export const X_REQUEST_ID = Buffer.from('x-request-id');
const JSON_TYPE = 'application/json';
const JSON_TYPE_BYTES = Buffer.from(JSON_TYPE);

/** Content types the routes name (a handful, from code, never from requests), by text. */
const encoded = new Map<string, Buffer>([[JSON_TYPE, JSON_TYPE_BYTES]]);

/** The Content-Type value to write: JSON unless the answer names another. */
export function contentTypeBytes(type: string | undefined): Buffer {
  if (type === undefined) return JSON_TYPE_BYTES;
  let bytes = encoded.get(type);
  if (!bytes) encoded.set(type, (bytes = Buffer.from(type)));
  return bytes;
}
