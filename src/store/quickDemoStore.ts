// The quick demo: one click takes the lesson through the paper's whole loop on the `micro` model —
// starter demonstrations, SFT, rankings by the simulated labeler, the reward model, a few PPO
// iterations and the held-out labeler's evaluation — by calling the same store actions the panels'
// buttons call (and so the same worker jobs), opening each panel as its stage runs. A stage that
// fails stops the demo with its reason; the panels stay usable on their own throughout.
import { create } from 'zustand';
import { DEFAULT_LABELER_NOISE, useLabDataStore } from './labDataStore.ts';
import { useLessonStore, type PanelId } from './lessonStore.ts';
import { errorMessage } from './errorMessage.ts';
import { useTrainingStore } from './trainingStore.ts';

export type DemoStage = 'demonstrations' | 'sft' | 'rankings' | 'reward_model' | 'ppo' | 'evaluation';

/** The demo's stages in order, with what each does and the panel that shows it. */
export const DEMO_STAGES: readonly { id: DemoStage; title: string; panel: PanelId }[] = [
  { id: 'demonstrations', title: 'Add starter demonstrations', panel: 'demonstrations' },
  { id: 'sft', title: 'Train the SFT model', panel: 'demonstrations' },
  { id: 'rankings', title: 'Rank outputs (simulated labeler)', panel: 'rank' },
  { id: 'reward_model', title: 'Train the reward model', panel: 'reward-model' },
  { id: 'ppo', title: 'Run PPO', panel: 'ppo' },
  { id: 'evaluation', title: 'Evaluate base, SFT and PPO', panel: 'evaluate' },
];

/** How much the demo does: enough to see every stage work, little enough to take minutes. */
export const QUICK_DEMO = { demonstrations: 8, rankings: 8, ppoIterations: 2, evaluationPrompts: 8 } as const;

/** The models the demo compares at the end. */
export const DEMO_MODELS = ['base', 'sft', 'policy'] as const;

/** Sampling temperature of the evaluation answers (the Evaluate panel's). */
const EVALUATION_TEMPERATURE = 0.7;

interface QuickDemoState {
  status: 'idle' | 'running' | 'done' | 'failed';
  stage?: DemoStage;
  error?: string;
  run(): Promise<void>;
}

/**
 * The training store's reason a stage did not finish: the run's error, or the store's (e.g. another
 * tab trains, so no run started: the run is still the one that began at `before`).
 */
function trainingFailure(
  kind: 'sft' | 'reward_model' | 'ppo',
  expected: readonly string[],
  before?: number,
): string | undefined {
  const state = useTrainingStore.getState();
  const run = state.runs[kind];
  if (run && run.startedAt !== before && expected.includes(run.status)) return undefined;
  return run?.error ?? state.error ?? `${kind.replace('_', ' ')} did not finish`;
}

async function runStages(enter: (stage: DemoStage) => void): Promise<void> {
  const { hyper, seed } = useLessonStore.getState();
  const data = () => useLabDataStore.getState();
  const training = () => useTrainingStore.getState();
  const fail = (reason: string | undefined) => {
    if (reason) throw new Error(reason);
  };

  enter('demonstrations');
  const missing = QUICK_DEMO.demonstrations - data().demonstrations.length;
  if (missing > 0) await data().addStarterSet(missing);

  enter('sft');
  const sftBefore = training().runs.sft?.startedAt;
  await training().trainSft(data().demonstrations, hyper, seed);
  fail(trainingFailure('sft', ['done'], sftBefore));

  enter('rankings');
  const generate = (prompts: string[], K: number) =>
    training().generate(prompts, K, { maxNewTokens: hyper.maxNewTokens });
  await data().autoRank(QUICK_DEMO.rankings, hyper.K, DEFAULT_LABELER_NOISE, generate);

  enter('reward_model');
  const rewardModelBefore = training().runs.reward_model?.startedAt;
  await training().trainRewardModel(data().rankings, data().demonstrations, hyper, seed);
  fail(trainingFailure('reward_model', ['done'], rewardModelBefore));

  enter('ppo');
  if (training().runs.ppo) await training().ppoReset();
  const prompts = data().prompts.map((p) => p.text);
  for (let i = 0; i < QUICK_DEMO.ppoIterations; i++) {
    await training().ppoStep(hyper, seed, prompts);
    fail(trainingFailure('ppo', ['paused']));
  }

  enter('evaluation');
  await training().evaluate([...DEMO_MODELS], {
    worldSeed: seed,
    prompts: QUICK_DEMO.evaluationPrompts,
    maxNewTokens: hyper.maxNewTokens,
    temperature: EVALUATION_TEMPERATURE,
    seed,
  });
  const evaluation = training().evaluation;
  if (evaluation.status !== 'done') throw new Error(evaluation.error ?? 'the evaluation did not finish');
}

export const useQuickDemoStore = create<QuickDemoState>((set, get) => ({
  status: 'idle',

  async run() {
    if (get().status === 'running') return;
    set({ status: 'running', stage: undefined, error: undefined });
    const enter = (stage: DemoStage) => {
      set({ stage });
      useLessonStore.getState().setPanel(DEMO_STAGES.find((s) => s.id === stage)!.panel);
    };
    try {
      await runStages(enter);
      set({ status: 'done', stage: undefined });
    } catch (error) {
      set({ status: 'failed', error: errorMessage(error) });
    }
  },
}));

export const selectDemoStatus = (state: QuickDemoState) => state.status;
export const selectDemoStage = (state: QuickDemoState) => state.stage;
export const selectDemoError = (state: QuickDemoState) => state.error;
