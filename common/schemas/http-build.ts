// Which uWebSockets.js build serves HTTP: /health reports it, the daemon
// refuses to start on the fallback unless told to, and benchmarks print it.
import { Type, type Static } from 'typebox';

export const UwsBuild = Type.Object(
  {
    build: Type.Union([Type.Literal('native'), Type.Literal('fallback')], {
      description: '"native": a uWS binary for this Node ABI and libc is loaded; "fallback": the slow pure-JS server',
    }),
    package: Type.String({ description: 'npm package the server code comes from' }),
    version: Type.String({ description: "that package's version" }),
    abi: Type.String({ description: 'Node module ABI of the running process (process.versions.modules)' }),
  },
  { title: 'UwsBuild', additionalProperties: false },
);
export type UwsBuild = Static<typeof UwsBuild>;
