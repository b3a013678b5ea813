// The words the panels use for a checkpoint's kind (the stored ids are snake_case).
import type { CheckpointEntry } from '../store/trainingStore.ts';

export const CHECKPOINT_KIND_TEXT: Record<CheckpointEntry['kind'], string> = {
  base: 'pretrained base',
  sft: 'supervised fine-tuned',
  reward_model: 'reward model',
  policy: 'PPO policy',
  dpo: 'DPO policy',
};
