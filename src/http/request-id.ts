// Request ids the daemon makes up when a client sends none: UUID-shaped
// (36 hex digits and dashes, as clients and logs expect), a random prefix per
// process and a counter in the last 12 digits. Every request needs one, and a
// counter costs a fraction of randomUUID() on the read path; ids are labels
// for logs and audit lines, never secrets, so being sequential is harmless.
import { randomUUID } from 'node:crypto';

const COUNTER_LIMIT = 2 ** 48; // 12 hex digits
const LOW = 2 ** 16; // the last 4 digits

/** Two hex digits per byte: the last 4 digits come from here, not from toString(16) (a runtime call). */
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

let prefix = randomUUID().slice(0, 24);
let counter = 0;
/** The prefix and the counter's first 8 digits, rebuilt every LOW ids. */
let head = '';

export function newRequestId(): string {
  if (counter === COUNTER_LIMIT) {
    prefix = randomUUID().slice(0, 24);
    counter = 0;
  }
  const low = counter % LOW;
  if (low === 0 || head === '') head = prefix + Math.floor(counter / LOW).toString(16).padStart(8, '0');
  counter++;
  return head + HEX_BYTE[low >> 8] + HEX_BYTE[low & 255];
}
