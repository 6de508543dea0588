// One NATS connection for a cluster node, from `[cluster]`: servers, the one
// kind of credentials, a private CA. It reconnects forever (a node outlives
// NATS restarts); whoever holds it decides what "unreachable" means.
import { readFileSync } from 'node:fs';
import { connect, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { ClusterSettings } from '../../common/config-types.js';

export type ClusterConnectSettings = Pick<ClusterSettings, 'servers' | 'auth' | 'tls_ca_file' | 'node_id'>;

export function connectionOptions(s: ClusterConnectSettings): ConnectionOptions {
  const opts: ConnectionOptions = {
    servers: s.servers,
    name: `tendhost ${s.node_id}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // Without this the first connect gives up at once while the server is down.
    waitOnFirstConnect: true,
  };
  switch (s.auth.kind) {
    case 'token':
      opts.token = s.auth.token;
      break;
    case 'user':
      opts.user = s.auth.user;
      opts.pass = s.auth.password;
      break;
    case 'nkey': {
      const seed = readFileSync(s.auth.seed_file, 'utf8').trim();
      opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
      break;
    }
    case 'none':
      break;
  }
  if (s.tls_ca_file) opts.tls = { caFile: s.tls_ca_file };
  return opts;
}

export function connectCluster(s: ClusterConnectSettings): Promise<NatsConnection> {
  return connect(connectionOptions(s));
}
