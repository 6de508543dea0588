// tendhost/client: the typed REST client, the event-stream model and the
// types, for any JavaScript runtime with fetch and WebSocket. In Node, use
// `nodeClient` from tendhost/client/node (ws, custom CA).
export { TendhostClient, type ClientOptions } from './http-client.js';
export { TendhostApiError, type ClientFailure } from './errors.js';
export { FleetModel, isStreamEvent, type JobProgress, type ApplyResult } from './fleet-model.js';
export { FleetStream, browserSocket, type FleetStreamOptions, type OpenSocket, type SocketLike, type StreamState, type JobReader } from './fleet-stream.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export type * from './types.js';
