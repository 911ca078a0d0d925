// `node --import <this file>`: reports every module file the program loads, one
// `miab-bench-load <url>` line on stderr each (bench/cold-start.ts reads them).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
