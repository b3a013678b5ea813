// GPU status: the worker's adapter, the limits the kernels depend on, shader-f16 support, and a
// button that runs the matmul kernel in the worker and checks it against the CPU.
import { useState } from 'react';
import type { GpuKeyLimits } from '../engine/gpu.ts';
import { selectCheck, selectChecking, selectError, selectInfo, selectStatus, useGpuStore } from '../store/gpuStore.ts';
import { ErrorLine } from './ErrorLine.tsx';

const SHOWN_LIMITS: [keyof GpuKeyLimits, string][] = [
  ['maxStorageBufferBindingSize', 'Max storage binding'],
  ['maxBufferSize', 'Max buffer'],
  ['maxStorageBuffersPerShaderStage', 'Storage buffers per stage'],
  ['maxComputeWorkgroupStorageSize', 'Workgroup memory'],
  ['maxComputeInvocationsPerWorkgroup', 'Invocations per workgroup'],
];

function formatLimit(key: keyof GpuKeyLimits, value: number): string {
  if (key === 'maxStorageBufferBindingSize' || key === 'maxBufferSize') return `${value / 2 ** 20} MiB`;
  if (key === 'maxComputeWorkgroupStorageSize') return `${value / 1024} KiB`;
  return String(value);
}

function MatmulCheck() {
  const check = useGpuStore(selectCheck);
  const checking = useGpuStore(selectChecking);
  const runCheck = useGpuStore((state) => state.runCheck);
  const [size, setSize] = useState(256);
  return (
    <div className="matmul-check">
      <label>
        Matrix size{' '}
        <select value={size} onChange={(event) => setSize(Number(event.target.value))} aria-label="Matrix size">
          {[64, 128, 256, 512].map((n) => (
            <option key={n} value={n}>
              {n}×{n}
            </option>
          ))}
        </select>
      </label>{' '}
      <button type="button" onClick={() => void runCheck(size, size, size)} disabled={checking}>
        {checking ? 'Running…' : 'Run matmul check'}
      </button>
      {check && (
        <p data-testid="matmul-result" className={check.ok ? 'ok' : 'error-detail'}>
          {check.ok ? 'PASS' : 'FAIL'}: {check.M}×{check.K} · {check.K}×{check.N} on the GPU, max |Δ| vs CPU{' '}
          {check.maxAbsDiff.toExponential(2)} (bound {check.tolerance.toExponential(2)}), {check.gpuMs.toFixed(1)} ms,{' '}
          {check.gflops.toFixed(2)} GFLOP/s
        </p>
      )}
    </div>
  );
}

export function GpuPanel() {
  const status = useGpuStore(selectStatus);
  const info = useGpuStore(selectInfo);
  const error = useGpuStore(selectError);
  return (
    <section className="panel" aria-labelledby="gpu-heading">
      <h2 id="gpu-heading">GPU</h2>
      {status === 'connecting' && <p role="status">Connecting to the GPU in the worker…</p>}
      <ErrorLine text={error} />
      {info && (
        <>
          <dl className="gpu-facts" data-testid="gpu-info">
            <dt>Adapter</dt>
            <dd data-testid="gpu-adapter">
              {[info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' · ') ||
                'unnamed adapter'}
            </dd>
            <dt>Feature level</dt>
            <dd>{info.featureLevel}</dd>
            <dt>shader-f16</dt>
            <dd>{info.shaderF16 ? 'yes' : 'no'}</dd>
            <dt>Kernel layout</dt>
            <dd data-testid="gpu-kernel-layout">
              {info.kernelLayout === 'registers'
                ? 'registers (CPU adapter: no workgroup tiles)'
                : 'tiled (workgroup memory)'}
            </dd>
            {SHOWN_LIMITS.map(([key, label]) => (
              <div key={key} className="gpu-fact">
                <dt>{label}</dt>
                <dd>{formatLimit(key, info.limits[key])}</dd>
              </div>
            ))}
          </dl>
          <MatmulCheck />
        </>
      )}
    </section>
  );
}
