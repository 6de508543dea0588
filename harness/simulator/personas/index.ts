import type { PersonaName } from '../host.js';
import { compose } from './compose.js';
import { debian } from './debian.js';
import { fedora } from './fedora.js';
import type { Persona } from './types.js';

export const PERSONA_TABLE: Record<PersonaName, Persona> = { debian, fedora, compose };
