// Module customization hooks (run in the loader thread): announce each loaded file URL.
import { writeSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:')) writeSync(2, `miab-bench-load ${url}\n`);
  return nextLoad(url, context);
}
