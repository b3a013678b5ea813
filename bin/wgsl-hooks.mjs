// Node module hooks that load `./kernel.wgsl?raw` as a module exporting the file's text, the way
// Vite's `?raw` suffix does, so the engine's kernels import the same way in Node and in the browser.
import { readFile } from 'node:fs/promises';

const RAW_WGSL = /\.wgsl\?raw$/;

export async function resolve(specifier, context, nextResolve) {
  if (RAW_WGSL.test(specifier)) return { url: new URL(specifier, context.parentURL).href, shortCircuit: true };
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (RAW_WGSL.test(url)) {
    const text = await readFile(new URL(url.replace(/\?raw$/, '')), 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
