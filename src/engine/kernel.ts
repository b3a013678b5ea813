// Compute kernels: a WGSL module + entry point + override constants, compiled once into a pipeline
// with an explicit bind-group layout (so bindings a specialisation does not use are still valid),
// cached per device, and labelled so that a WebGPU validation error names the kernel.

/**
 * The two designs of the heavy kernels (matmul, attention). 'tiled' is for GPUs: workgroups share
 * tiles staged through workgroup memory between barriers. 'registers' is for CPU adapters
 * (SwiftShader, llvmpipe, WARP), where workgroup memory is ordinary memory and every barrier switches each
 * invocation's context, so staging costs more than it saves: each invocation works alone from
 * global memory and keeps its running values in registers.
 */
export type KernelLayout = 'tiled' | 'registers';

/** CPU rasterizers by name: Chromium's SwiftShader, Mesa's llvmpipe and lavapipe, Windows' WARP ("Microsoft Basic Render Driver"). */
const CPU_ADAPTER = /swiftshader|llvmpipe|lavapipe|basic render driver/i;

/** 'registers' on a CPU adapter (a fallback adapter, or one whose info names a CPU rasterizer), else 'tiled'. */
export function kernelLayoutFor(device: GPUDevice): KernelLayout {
  const info = device.adapterInfo as GPUAdapterInfo | undefined; // absent in browsers that predate the field
  if (!info) return 'tiled';
  const names = `${info.architecture} ${info.device} ${info.description}`;
  return info.isFallbackAdapter || CPU_ADAPTER.test(names) ? 'registers' : 'tiled';
}

export type BindingKind = 'storage' | 'read-only-storage' | 'uniform';

export interface KernelSpec {
  /** Names the kernel in labels and error messages, e.g. "matmul_forward". */
  label: string;
  code: string;
  entryPoint?: string;
  /** WGSL `override` values; part of the cache key. */
  constants?: Record<string, number | boolean>;
  /** Binding kinds in @binding order (group 0). */
  bindings: BindingKind[];
}

export interface Kernel {
  label: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Buffer (or sub-range) bound to one binding slot. */
export type BindingResource = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

const caches = new WeakMap<GPUDevice, Map<string, Kernel>>();
const modules = new WeakMap<GPUDevice, Map<string, GPUShaderModule>>();

function constantsKey(constants: Record<string, number | boolean> | undefined): string {
  if (!constants) return '';
  return Object.keys(constants)
    .sort()
    .map((key) => `${key}=${String(constants[key])}`)
    .join(',');
}

function shaderModule(device: GPUDevice, label: string, code: string): GPUShaderModule {
  let perDevice = modules.get(device);
  if (!perDevice) modules.set(device, (perDevice = new Map()));
  let module = perDevice.get(code);
  if (!module) {
    module = device.createShaderModule({ label, code });
    perDevice.set(code, module);
  }
  return module;
}

/** Returns the cached kernel for this spec, compiling it on first use. */
export function getKernel(device: GPUDevice, spec: KernelSpec): Kernel {
  let cache = caches.get(device);
  if (!cache) caches.set(device, (cache = new Map()));
  const entryPoint = spec.entryPoint ?? 'main';
  const key = `${spec.label}|${entryPoint}|${constantsKey(spec.constants)}|${spec.code.length}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const layout = device.createBindGroupLayout({
    label: `${spec.label}.layout`,
    entries: spec.bindings.map((type, binding) => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type },
    })),
  });
  const constants = spec.constants
    ? Object.fromEntries(Object.entries(spec.constants).map(([name, value]) => [name, Number(value)]))
    : undefined;
  const pipeline = device.createComputePipeline({
    label: spec.label,
    layout: device.createPipelineLayout({ label: `${spec.label}.pipeline-layout`, bindGroupLayouts: [layout] }),
    compute: { module: shaderModule(device, spec.label, spec.code), entryPoint, constants },
  });
  const kernel = { label: spec.label, pipeline, layout };
  cache.set(key, kernel);
  return kernel;
}

/** Creates a bind group for a kernel from resources in binding order. */
export function bindKernel(
  device: GPUDevice,
  kernel: Kernel,
  resources: BindingResource[],
  label = kernel.label,
): GPUBindGroup {
  return device.createBindGroup({
    label: `${label}.bind-group`,
    layout: kernel.layout,
    entries: resources.map((resource, binding) => ({
      binding,
      resource: resource instanceof GPUBuffer ? { buffer: resource } : resource,
    })),
  });
}

/** A recorded dispatch: the kernel, its bind group and the workgroup counts. */
export interface Dispatch {
  kernel: Kernel;
  bindGroup: GPUBindGroup;
  workgroups: [number, number?, number?];
}

/** Records dispatches into one compute pass of the encoder. */
export function recordDispatches(encoder: GPUCommandEncoder, dispatches: Dispatch[], label: string): void {
  const pass = encoder.beginComputePass({ label });
  for (const { kernel, bindGroup, workgroups } of dispatches) {
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
  }
  pass.end();
}
