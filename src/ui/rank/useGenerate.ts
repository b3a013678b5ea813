// The Rank panel's sampler: K outputs per prompt from the current model, as long as the lesson's
// response length allows.
import { useCallback } from 'react';
import type { Generate } from '../../store/labDataStore.ts';
import { selectHyper, useLessonStore } from '../../store/lessonStore.ts';
import { useTrainingStore } from '../../store/trainingStore.ts';

/** K outputs per prompt from the current model, as long as the lesson's response length allows. */
export function useGenerate(): Generate {
  const generate = useTrainingStore((state) => state.generate);
  const maxNewTokens = useLessonStore(selectHyper).maxNewTokens;
  return useCallback(
    (prompts: string[], K: number) => generate(prompts, K, { maxNewTokens }),
    [generate, maxNewTokens],
  );
}
