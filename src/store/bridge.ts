// The page's handle on the lab worker: one worker per page, wrapped with comlink and typed by the
// worker's own API (`typeof api` in workers/lab.worker.ts).
import * as Comlink from 'comlink';
import type { LabWorkerApi } from '../../workers/lab.worker.ts';

let worker: Comlink.Remote<LabWorkerApi> | undefined;

export function labWorker(): Comlink.Remote<LabWorkerApi> {
  worker ??= Comlink.wrap<LabWorkerApi>(
    new Worker(new URL('../../workers/lab.worker.ts', import.meta.url), { type: 'module', name: 'rlhf-lab' }),
  );
  return worker;
}

export { Comlink };
