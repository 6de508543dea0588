// Request ids the daemon makes up when a client sends none: UUID-shaped
// (36 hex digits and dashes, as clients and logs expect), a random prefix per
// process and a counter in the last 12 digits. Every request needs one, and a
// counter costs a fraction of randomUUID() on the read path; ids are labels
// for logs and audit lines, never secrets, so being sequential is harmless.
import { randomUUID } from 'node:crypto';

const COUNTER_LIMIT = 2 ** 48; // 12 hex digits

let prefix = randomUUID().slice(0, 24);
let counter = 0;

export function newRequestId(): string {
  if (counter === COUNTER_LIMIT) {
    prefix = randomUUID().slice(0, 24);
    counter = 0;
  }
  return prefix + (counter++).toString(16).padStart(12, '0');
}
