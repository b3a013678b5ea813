// Shared by the Node unit tests: one Dawn device per test file (SwiftShader unless RLHF_LAB_WEBGPU says otherwise).
import { acquireGpu, type Gpu } from '../../../src/engine/gpu.ts';

let shared: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  shared ??= acquireGpu();
  return shared;
}
