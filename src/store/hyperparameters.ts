// The lesson's hyperparameters: the knobs the Demonstrations, Rank, Reward model and PPO panels
// expose, with the paper's (or TRL's) defaults, allowed ranges and a one-line explanation each.
// They live in the URL (lessonStore) so a link reproduces a demo; PPO's take the names PpoOptions
// uses (klCoef, clipRange, batchSize), and links written with the old ones (beta, clip, ppoBatch)
// are read by src/data/legacy-names.ts.

export interface Hyperparameters {
  /** Outputs shown per prompt on the Rank panel (the paper: 4..9). */
  K: number;
  sftEpochs: number;
  sftLr: number;
  rmEpochs: number;
  rmLr: number;
  /** β: weight of the per-token KL penalty against the SFT model (PpoOptions.klCoef, TRL kl_coef). */
  klCoef: number;
  ppoLr: number;
  /** ε of the clipped PPO objective (PpoOptions.clipRange, TRL cliprange). */
  clipRange: number;
  ppoEpochs: number;
  /** Episodes (prompts with one sampled response) per PPO iteration (PpoOptions.batchSize). */
  batchSize: number;
  temperature: number;
  /** γ_ptx: weight of the pretraining loss mixed into PPO (0 = plain PPO). */
  ptxCoef: number;
  maxNewTokens: number;
  /** β of DPO (TRL's default 0.1). */
  dpoBeta: number;
}

export type HyperparameterName = keyof Hyperparameters;

export interface HyperparameterSpec {
  label: string;
  /** One line a teacher can read aloud. */
  explanation: string;
  min: number;
  max: number;
  step: number;
  integer: boolean;
}

export const DEFAULT_HYPERPARAMETERS: Hyperparameters = {
  K: 4,
  sftEpochs: 2,
  sftLr: 1e-3,
  rmEpochs: 1,
  rmLr: 3e-4,
  klCoef: 0.02,
  ppoLr: 3e-5,
  clipRange: 0.2,
  ppoEpochs: 4,
  batchSize: 8,
  temperature: 1,
  ptxCoef: 0,
  maxNewTokens: 32,
  dpoBeta: 0.1,
};

export const HYPERPARAMETER_SPECS: Record<HyperparameterName, HyperparameterSpec> = {
  K: {
    label: 'Outputs per prompt (K)',
    explanation: 'How many outputs a labeler ranks at once; the paper used 4 to 9.',
    min: 2,
    max: 9,
    step: 1,
    integer: true,
  },
  sftEpochs: {
    label: 'SFT epochs',
    explanation: 'Passes over the demonstrations; the paper trained 16 and picked by reward-model score.',
    min: 1,
    max: 20,
    step: 1,
    integer: true,
  },
  sftLr: {
    label: 'SFT learning rate',
    explanation: 'Step size of supervised fine-tuning (cosine decay to 10%).',
    min: 1e-5,
    max: 1e-2,
    step: 1e-5,
    integer: false,
  },
  rmEpochs: {
    label: 'Reward-model epochs',
    explanation: 'The paper trained one epoch: more overfits the rankings.',
    min: 1,
    max: 5,
    step: 1,
    integer: true,
  },
  rmLr: {
    label: 'Reward-model learning rate',
    explanation: 'Step size of the reward model trained on all pairs of each ranking.',
    min: 1e-5,
    max: 1e-2,
    step: 1e-5,
    integer: false,
  },
  klCoef: {
    label: 'KL coefficient β',
    explanation: 'Penalty per token for drifting from the SFT model; 0 lets the policy hack the reward model.',
    min: 0,
    max: 1,
    step: 0.005,
    integer: false,
  },
  ppoLr: {
    label: 'PPO learning rate',
    explanation: 'Step size of the policy and value updates.',
    min: 1e-6,
    max: 1e-3,
    step: 1e-6,
    integer: false,
  },
  clipRange: {
    label: 'Clip range ε',
    explanation: 'How far one update may move the probability ratio (PPO clipping).',
    min: 0.01,
    max: 1,
    step: 0.01,
    integer: false,
  },
  ppoEpochs: {
    label: 'PPO epochs',
    explanation: 'Optimisation passes over each batch of sampled responses.',
    min: 1,
    max: 10,
    step: 1,
    integer: true,
  },
  batchSize: {
    label: 'Episodes per iteration',
    explanation: 'Prompts answered and scored before each PPO update.',
    min: 1,
    max: 64,
    step: 1,
    integer: true,
  },
  temperature: {
    label: 'Sampling temperature',
    explanation: 'Randomness of the sampled responses; PPO assumes 1.',
    min: 0.1,
    max: 2,
    step: 0.05,
    integer: false,
  },
  ptxCoef: {
    label: 'Pretraining mix γ (PPO-ptx)',
    explanation: 'Weight of the pretraining loss mixed into PPO to limit the alignment tax; 0 is plain PPO.',
    min: 0,
    max: 50,
    step: 0.1,
    integer: false,
  },
  maxNewTokens: {
    label: 'Response length',
    explanation: 'Most tokens sampled per response.',
    min: 4,
    max: 120,
    step: 1,
    integer: true,
  },
  dpoBeta: {
    label: 'DPO β',
    explanation: 'How strongly DPO keeps the policy near the SFT model (TRL default 0.1).',
    min: 0.01,
    max: 1,
    step: 0.01,
    integer: false,
  },
};

/** Parses a value (e.g. from the URL) for a hyperparameter; undefined if it is not a valid value. */
export function parseHyperparameter(name: HyperparameterName, text: string): number | undefined {
  const spec = HYPERPARAMETER_SPECS[name];
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < spec.min || value > spec.max) return undefined;
  if (spec.integer && !Number.isInteger(value)) return undefined;
  return value;
}
