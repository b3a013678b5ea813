#!/usr/bin/env node
// Entry point of the `rlhf-lab` CLI: runs the TypeScript sources directly (tsx), with `.wgsl?raw`
// imports served by bin/wgsl-hooks.mjs exactly as Vite serves them in the app.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./wgsl-hooks.mjs', import.meta.url);
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// Dawn keeps native threads alive; leave explicitly once the command has finished.
process.exit();
