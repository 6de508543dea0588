// Compose v2 (the `docker compose` plugin, 2.26) against a real dockerd and registry over real SSH: see helpers/compose-engine.ts.
import { composeEngineSuite } from './helpers/compose-engine.js';

composeEngineSuite('v2');
