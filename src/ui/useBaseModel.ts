// Loads the lesson's base model into the worker (once per page) from whichever panel opens first,
// once the GPU is ready or known to be missing (then the worker samples with onnxruntime-web); the
// training store then restores the saved checkpoints and runs.
import { useEffect } from 'react';
import { useModelStore } from '../store/modelStore.ts';
import { selectStatus, useGpuStore } from '../store/gpuStore.ts';

export function useBaseModel(): void {
  const loadBase = useModelStore((state) => state.loadBase);
  const gpu = useGpuStore(selectStatus);
  useEffect(() => {
    if (gpu === 'ready' || gpu === 'unsupported') void loadBase();
  }, [gpu, loadBase]);
}
