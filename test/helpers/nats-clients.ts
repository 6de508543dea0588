// A real nats-server for one test with two client connections (two nodes'
// views of the same buckets), all closed when the test ends.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats } from '../../harness/nats.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function natsWithTwoClients(t: Teardown): Promise<[NatsConnection, NatsConnection]> {
  const nats = await startNats();
  t.teardown(() => nats.stop());
  const [a, b] = await Promise.all([connect({ servers: nats.url }), connect({ servers: nats.url })]);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  return [a, b];
}
