// The one way to get a WebGPU device, in a browser page, in a Web Worker, or in Node through Dawn
// (npm package `webgpu`). In Node the backend is chosen by RLHF_LAB_WEBGPU:
//   swiftshader (default) — Vulkan on the CPU via Chromium's SwiftShader: full WebGPU core, slow;
//   llvmpipe             — Mesa's GL driver via Dawn's OpenGL ES backend: compatibility mode, ~15x faster;
//   native               — whatever Dawn finds first (a real GPU's Vulkan driver on a GPU machine).
// Errors from the device (validation, out of memory, device lost) reach listeners with a message.
import { kernelLayoutFor, type KernelLayout } from './kernel.ts';

/** Where the device came from. */
export type GpuBackend = 'browser' | 'swiftshader' | 'llvmpipe' | 'native';

/** The limits the lab's kernels care about, as the device granted them. */
export interface GpuKeyLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  minStorageBufferOffsetAlignment: number;
}

export interface GpuInfo {
  backend: GpuBackend;
  featureLevel: 'core' | 'compatibility';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  limits: GpuKeyLimits;
  features: string[];
  shaderF16: boolean;
  /** How matmul and attention run on this device (kernel.ts): 'registers' on CPU adapters, else 'tiled'. */
  kernelLayout: KernelLayout;
}

export type GpuErrorKind = 'validation' | 'out-of-memory' | 'internal' | 'device-lost';
export interface GpuError {
  kind: GpuErrorKind;
  message: string;
}
export type GpuErrorListener = (error: GpuError) => void;

/** A device with its description and a fan-out of error events. */
export interface Gpu {
  device: GPUDevice;
  info: GpuInfo;
  /** Subscribe to uncaptured errors and device loss; returns an unsubscribe function. */
  onError(listener: GpuErrorListener): () => void;
  /** Resolves with the loss message when the device is lost (also after destroy()). */
  lost: Promise<GpuError>;
  /** Throws the first device error seen so far (validation, out of memory, loss), if any. */
  assertHealthy(): void;
  destroy(): void;
}

export class NoWebGpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoWebGpuError';
  }
}

const KEY_LIMITS: (keyof GpuKeyLimits)[] = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupsPerDimension',
  'minStorageBufferOffsetAlignment',
];

/** Limits we ask for: the WebGPU core defaults, raised to what the adapter offers (compat starts lower). */
const WANTED_LIMITS: Record<string, number> = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxBufferSize: 256 * 1024 * 1024,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
};

const NODE_BACKENDS: Record<
  Exclude<GpuBackend, 'browser'>,
  { dawnFlags: string[]; featureLevel: 'core' | 'compatibility'; env: Record<string, string> }
> = {
  swiftshader: {
    dawnFlags: [],
    featureLevel: 'core',
    env: { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' },
  },
  llvmpipe: { dawnFlags: ['backend=opengles'], featureLevel: 'compatibility', env: { EGL_PLATFORM: 'surfaceless' } },
  native: { dawnFlags: [], featureLevel: 'core', env: {} },
};

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function browserGpu(): GPU | undefined {
  return typeof navigator !== 'undefined' ? (navigator as Navigator & { gpu?: GPU }).gpu : undefined;
}

/** Parses RLHF_LAB_WEBGPU; unknown values are an error rather than a silent fallback. */
export function nodeBackendFromEnv(value: string | undefined): Exclude<GpuBackend, 'browser'> {
  const name = (value ?? 'swiftshader').trim() || 'swiftshader';
  if (name === 'swiftshader' || name === 'llvmpipe' || name === 'native') return name;
  throw new Error(`RLHF_LAB_WEBGPU=${name} is not a known backend; use swiftshader, llvmpipe or native`);
}

/**
 * Dawn instances by backend. They must stay referenced for the life of the process: when the
 * instance object is garbage-collected while its devices live, dawn.node crashes (futex errors,
 * segfaults) at the next GC.
 */
const dawnInstances = new Map<string, GPU>();

async function dawnGpu(backend: Exclude<GpuBackend, 'browser'>): Promise<GPU> {
  const existing = dawnInstances.get(backend);
  if (existing) return existing;
  for (const [key, value] of Object.entries(NODE_BACKENDS[backend].env)) process.env[key] ??= value;
  // The specifier is a variable so that browser bundles never try to include Dawn.
  const dawnPackage = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ dawnPackage)) as {
    create(flags: string[]): GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, dawn.globals);
  const instance = dawn.create(NODE_BACKENDS[backend].dawnFlags);
  dawnInstances.set(backend, instance);
  return instance;
}

function wantedLimits(adapter: GPUAdapter): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const [key, wanted] of Object.entries(WANTED_LIMITS)) {
    const offered = (adapter.limits as unknown as Record<string, number>)[key];
    limits[key] = Math.min(wanted, offered);
  }
  return limits;
}

function describe(
  adapter: GPUAdapter,
  device: GPUDevice,
  backend: GpuBackend,
  featureLevel: 'core' | 'compatibility',
): GpuInfo {
  const info = adapter.info;
  const limits = {} as GpuKeyLimits;
  for (const key of KEY_LIMITS) limits[key] = (device.limits as unknown as Record<string, number>)[key];
  const features = [...device.features].map(String).sort();
  return {
    backend,
    featureLevel,
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    limits,
    features,
    shaderF16: features.includes('shader-f16'),
    kernelLayout: kernelLayoutFor(device),
  };
}

/**
 * Acquires a GPUDevice from navigator.gpu (page or worker) or, in Node, from Dawn.
 * Throws NoWebGpuError with advice when there is no WebGPU or no adapter.
 */
export async function acquireGpu(options: { nodeBackend?: Exclude<GpuBackend, 'browser'> } = {}): Promise<Gpu> {
  let gpu = browserGpu();
  let backend: GpuBackend = 'browser';
  let featureLevel: 'core' | 'compatibility' = 'core';
  if (!gpu && isNode()) {
    backend = options.nodeBackend ?? nodeBackendFromEnv(process.env.RLHF_LAB_WEBGPU);
    featureLevel = NODE_BACKENDS[backend].featureLevel;
    gpu = await dawnGpu(backend);
  }
  if (!gpu) {
    throw new NoWebGpuError(
      'This browser does not expose WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge, ' +
        'Safari 26+, or Firefox 141+; on Linux Chrome may need chrome://flags/#enable-unsafe-webgpu. ' +
        'WebGPU also needs a secure context (https:// or http://localhost).',
    );
  }
  const adapter = await gpu.requestAdapter(
    featureLevel === 'compatibility' ? ({ featureLevel } as GPURequestAdapterOptions) : {},
  );
  if (!adapter) {
    throw new NoWebGpuError(
      `WebGPU is present but no adapter was found (backend: ${backend}). ` +
        (backend === 'browser'
          ? 'The GPU may be blocklisted: try chrome://gpu, update drivers, or enable chrome://flags/#enable-unsafe-webgpu.'
          : 'Check that libvulkan1 and chromium (for SwiftShader) or libegl1 and libgl1-mesa-dri (for llvmpipe) are installed.'),
    );
  }
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('shader-f16') ? ['shader-f16'] : [];
  const device = await adapter.requestDevice({
    label: 'rlhf-lab',
    requiredLimits: wantedLimits(adapter),
    requiredFeatures,
  });
  return wrapDevice(device, describe(adapter, device, backend, featureLevel));
}

function wrapDevice(device: GPUDevice, info: GpuInfo): Gpu {
  const listeners = new Set<GpuErrorListener>();
  let firstError: GpuError | undefined;
  let destroyed = false;
  const emit = (error: GpuError) => {
    if (destroyed && error.kind === 'device-lost') return;
    firstError ??= error;
    listeners.forEach((listener) => listener(error));
  };
  device.addEventListener('uncapturederror', (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    const kind: GpuErrorKind =
      error instanceof GPUValidationError
        ? 'validation'
        : error instanceof GPUOutOfMemoryError
          ? 'out-of-memory'
          : 'internal';
    emit({ kind, message: error.message });
  });
  const lost = device.lost.then((loss) => {
    const error: GpuError = { kind: 'device-lost', message: `GPU device lost (${loss.reason}): ${loss.message}` };
    emit(error);
    return error;
  });
  return {
    device,
    info,
    lost,
    onError(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    assertHealthy() {
      if (firstError) throw new Error(`GPU ${firstError.kind} error: ${firstError.message}`);
    },
    destroy() {
      destroyed = true;
      device.destroy();
    },
  };
}
