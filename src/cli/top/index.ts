// `tendhost top`: a live full-terminal view of the fleet (see app.ts).
export { runTop, type TopEnv } from './app.js';
export { TOP_USAGE } from './args.js';
