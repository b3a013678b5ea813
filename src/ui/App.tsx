// The lab's shell: a header and the panels. While WebGPU is missing it shows what to do instead.
import { useEffect } from 'react';
import { selectStatus, useGpuStore } from '../store/gpuStore.ts';
import { GpuPanel } from './GpuPanel.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { NoWebGpu } from './NoWebGpu.tsx';

export function App() {
  const status = useGpuStore(selectStatus);
  const connect = useGpuStore((state) => state.connect);
  useEffect(() => {
    void connect();
  }, [connect]);

  return (
    <div className="app">
      <header className="app-header">
        <h1>RLHF Lab</h1>
        <p className="tagline">InstructGPT end to end in your browser: demonstrations, rankings, a reward model and PPO on a small GPT trained with WebGPU.</p>
      </header>
      <main>
        {status === 'unsupported' ? (
          <NoWebGpu />
        ) : (
          <>
            {status === 'ready' && <ModelPanel />}
            <GpuPanel />
          </>
        )}
      </main>
    </div>
  );
}
