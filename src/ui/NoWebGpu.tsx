// Shown when the browser has no WebGPU: which browsers and flags provide it.
import { selectError, useGpuStore } from '../store/gpuStore.ts';

export function NoWebGpu() {
  const error = useGpuStore(selectError);
  return (
    <section className="panel" aria-labelledby="no-webgpu-heading" data-testid="no-webgpu">
      <h2 id="no-webgpu-heading">This browser has no WebGPU</h2>
      <p>The lab trains and samples its model with WebGPU compute shaders. To use it:</p>
      <ul>
        <li>Chrome or Edge 113+ on Windows, macOS and ChromeOS; recent versions on Linux and Android.</li>
        <li>On Linux, if it is still missing: open <code>chrome://flags/#enable-unsafe-webgpu</code>, enable it and restart.</li>
        <li>Safari 26 or newer; Firefox 141 or newer (Windows first, other platforms following).</li>
        <li>Open the lab over <code>https://</code> or from <code>http://localhost</code> / <code>127.0.0.1</code>: WebGPU needs a secure context.</li>
        <li>Check <code>chrome://gpu</code>: a blocklisted GPU or an old driver also hides WebGPU.</li>
      </ul>
      {error && <p className="error-detail">Details: {error}</p>}
    </section>
  );
}
