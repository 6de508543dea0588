// Compose v1 (`docker-compose` 1.29) against a real dockerd and registry over real SSH: see helpers/compose-engine.ts.
import { composeEngineSuite } from './helpers/compose-engine.js';

composeEngineSuite('v1');
