// Shown when the browser has no WebGPU: a notice above the panels saying what still works (loading
// the model, sampling, ranking and blind comparisons, on the CPU with onnxruntime-web) and which
// browsers and flags provide WebGPU; and the explanation the training blocks show in its place.
import { selectError, useGpuStore } from '../store/gpuStore.ts';

function WebGpuAdvice() {
  return (
    <ul>
      <li>Chrome or Edge 113+ on Windows, macOS and ChromeOS; recent versions on Linux and Android.</li>
      <li>
        On Linux, if it is still missing: open <code>chrome://flags/#enable-unsafe-webgpu</code>, enable it and restart.
      </li>
      <li>Safari 26 or newer; Firefox 141 or newer (Windows first, other platforms following).</li>
      <li>
        Open the lab over <code>https://</code> or from <code>http://localhost</code> / <code>127.0.0.1</code>: WebGPU
        needs a secure context.
      </li>
      <li>
        Check <code>chrome://gpu</code>: a blocklisted GPU or an old driver also hides WebGPU.
      </li>
    </ul>
  );
}

export function NoWebGpu() {
  const error = useGpuStore(selectError);
  return (
    <aside className="panel notice no-webgpu" aria-labelledby="no-webgpu-heading" data-testid="no-webgpu">
      <h2 id="no-webgpu-heading">This browser has no WebGPU</h2>
      <p>
        You can still load the model, sample from it, rank its outputs and judge blind comparisons: sampling runs on the
        CPU with onnxruntime-web (slower). Training — SFT, the reward model, PPO and DPO — runs in WebGPU compute
        shaders and needs a browser that has it:
      </p>
      <WebGpuAdvice />
      {error && <p className="muted">Details: {error}</p>}
    </aside>
  );
}

/** In place of a training block's controls: what it needs, and that the data made here can go on elsewhere. */
export function TrainingNeedsWebGpu({ what }: { what: string }) {
  return (
    <div className="needs-webgpu" role="note" data-testid="needs-webgpu">
      <p>
        <strong>{what} needs WebGPU</strong>, which this browser does not provide: it trains the model with WebGPU
        compute shaders. Open the lab in Chrome or Edge 113+, Safari 26+ or Firefox 141+ (on Linux Chrome, enable{' '}
        <code>chrome://flags/#enable-unsafe-webgpu</code>). Demonstrations and rankings made here are saved in this
        browser; export them from the Data panel to train elsewhere.
      </p>
    </div>
  );
}
