// A host's inventory: through osquery when the host has it (richer, one
// schema everywhere), otherwise through plain commands. An osquery that is
// installed but broken falls back to the commands rather than failing.
import type { Inventory } from '../../common/schemas/inventory.js';
import type { Executor } from '../exec/types.js';
import type { Detected } from '../pkg/detect.js';
import type { DriverContext } from '../pkg/driver.js';
import { collectWithCommands } from './commands.js';
import { collectWithOsquery } from './osquery.js';

export async function collectInventory(exec: Executor, ctx: DriverContext, detected: Detected): Promise<Inventory> {
  if (detected.osquery) {
    try {
      return await collectWithOsquery(exec, ctx, detected);
    } catch {
      // fall through: the plain commands need nothing but a shell
    }
  }
  return collectWithCommands(exec, ctx, detected);
}
