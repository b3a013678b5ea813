// The lab's shell: a header, the tab bar of the seven panels (Model, Demonstrations, Rank, Reward
// model, PPO, Evaluate, Data), the lesson guide for the open panel (LessonGuide.tsx) and the panel, which the URL names (lessonStore). It connects
// to the GPU in the worker and loads the saved lab data. A skip link jumps past the header and tabs. Where WebGPU is missing a notice above the
// panels says so; Model, Rank and Evaluate still work (the worker samples with onnxruntime-web)
// and the training panels explain what they need.
import { useEffect } from 'react';
import { selectStatus, useGpuStore } from '../store/gpuStore.ts';
import { useLabDataStore } from '../store/labDataStore.ts';
import { selectPanel, useLessonStore, type PanelId } from '../store/lessonStore.ts';
import type { GpuStatus } from '../store/gpuStore.ts';
import { DataPanel } from './DataPanel.tsx';
import { DemonstrationsPanel } from './DemonstrationsPanel.tsx';
import { EvaluatePanel } from './EvaluatePanel.tsx';
import { GpuPanel } from './GpuPanel.tsx';
import { LessonGuide } from './LessonGuide.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { NoWebGpu } from './NoWebGpu.tsx';
import { PanelTabs, tabId, tabPanelId } from './PanelTabs.tsx';
import { PpoPanel } from './PpoPanel.tsx';
import { RankPanel } from './rank/RankPanel.tsx';
import { RewardModelPanel } from './RewardModelPanel.tsx';

function OpenPanel({ panel, gpu }: { panel: PanelId; gpu: GpuStatus }) {
  switch (panel) {
    case 'model':
      return (
        <>
          {(gpu === 'ready' || gpu === 'unsupported') && <ModelPanel />}
          {gpu !== 'unsupported' && <GpuPanel />}
        </>
      );
    case 'demonstrations':
      return <DemonstrationsPanel />;
    case 'rank':
      return <RankPanel />;
    case 'reward-model':
      return <RewardModelPanel />;
    case 'ppo':
      return <PpoPanel />;
    case 'evaluate':
      return <EvaluatePanel />;
    case 'data':
      return <DataPanel />;
  }
}

export function App() {
  const status = useGpuStore(selectStatus);
  const connect = useGpuStore((state) => state.connect);
  const loadLabData = useLabDataStore((state) => state.load);
  const panel = useLessonStore(selectPanel);
  useEffect(() => {
    void connect();
  }, [connect]);
  useEffect(() => {
    void loadLabData();
  }, [loadLabData]);

  return (
    <div className="app">
      <a className="skip-link" href="#lab-main">
        Skip to the open panel
      </a>
      <header className="app-header">
        <h1>RLHF Lab</h1>
        <p className="tagline">
          InstructGPT end to end in your browser: demonstrations, rankings, a reward model and PPO on a small GPT
          trained with WebGPU.
        </p>
      </header>
      {status === 'unsupported' && <NoWebGpu />}
      <nav aria-label="Pipeline">
        <PanelTabs />
      </nav>
      <main id="lab-main" tabIndex={-1}>
        <LessonGuide />
        <div id={tabPanelId(panel)} role="tabpanel" aria-labelledby={tabId(panel)}>
          <OpenPanel panel={panel} gpu={status} />
        </div>
      </main>
    </div>
  );
}
