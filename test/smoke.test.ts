import t from 'tap';
import { TendhostError } from '../src/errors.js';
t.test('x', async (t) => { t.equal(new TendhostError('HOST_BUSY').status, 409); });
