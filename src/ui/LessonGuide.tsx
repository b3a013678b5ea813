// The lesson guide above each panel, following Figure 2 of the InstructGPT paper: what this step
// is, what to do now, what a good result looks like, and a button to the next step. It folds away
// for those who know the lab. The quick demo (QuickDemo.tsx) starts from the guide and shows its
// progress there on every panel.
import { PANELS, selectPanel, useLessonStore, type PanelId } from '../store/lessonStore.ts';
import { QuickDemo } from './QuickDemo.tsx';

interface GuideStep {
  /** Where the step sits in the paper's Figure 2. */
  step: string;
  what: string;
  now: string;
  good: string;
}

const GUIDE: Record<PanelId, GuideStep> = {
  model: {
    step: 'Before step 1: the pretrained model',
    what: 'The paper starts from GPT-3; the lab starts from a small GPT-2 pretrained on TinyWorld, a generated world of facts and instructions. It has read text, not learned to follow instructions.',
    now: 'Give it an instruction and sample: it continues the text rather than answering. Or run the quick demo below to see the whole loop in a few minutes.',
    good: 'You see why the next steps are needed: the base model rambles, ignores the instruction or is rude.',
  },
  demonstrations: {
    step: 'Figure 2, step 1: collect demonstrations, train a supervised policy (SFT)',
    what: 'People write the answer they want for a prompt; the model is fine-tuned to continue each prompt with its demonstration.',
    now: 'Add the starter set (or write your own demonstrations), then Train SFT and watch the loss.',
    good: 'The smoothed loss falls during the first epoch and then flattens; the SFT model’s samples on the Model panel follow instructions more often.',
  },
  rank: {
    step: 'Figure 2, step 2: collect comparisons',
    what: 'A labeler sees several outputs of the model for one prompt and orders them best first. A ranking of K outputs gives K(K−1)/2 comparisons.',
    now: 'Sample outputs, order them (drag, buttons or Alt+↑/↓), submit. Auto-rank lets the simulated labeler add more.',
    good: 'A few dozen rankings, by people or simulated; the paper used about 33,000 prompts.',
  },
  'reward-model': {
    step: 'Figure 2, step 2: train the reward model',
    what: 'The reward model reads a prompt and an answer and gives one number; it learns that the preferred answer of every comparison should get the higher number.',
    now: 'Train the reward model, then score a few answers of your own.',
    good: 'Held-out accuracy above 50% (a coin toss); the paper’s reward models reached about 72%.',
  },
  ppo: {
    step: 'Figure 2, step 3: optimise the policy against the reward model with PPO',
    what: 'The policy (the SFT model at first) answers prompts, the reward model scores the answers, and PPO makes well-scored answers more likely. A KL penalty (β) keeps it close to SFT.',
    now: 'Start (or Step once), watch the reward and the KL, pause when the reward levels off.',
    good: 'The reward rises while the KL stays small and the answers still make sense. Reward up with nonsense answers is reward hacking.',
  },
  evaluate: {
    step: 'After step 3: do people prefer the result?',
    what: 'The paper’s main measure is how often people prefer one model’s answer to another’s, on prompts no model trained on.',
    now: 'Judge a blind A/B of PPO against SFT, and run the held-out labeler’s table over base, SFT and PPO.',
    good: 'PPO preferred to SFT more than half the time and a higher 1–7 score than the base model, with a pretraining loss that did not rise much.',
  },
  data: {
    step: 'Take it with you',
    what: 'Everything the lesson made stays in this browser until exported: demonstrations and comparisons in TRL’s formats, checkpoints as Hugging Face folders or ONNX, curves as CSV.',
    now: 'Export what you want to keep or to train further with TRL or transformers.',
    good: 'The files open in the tools you use elsewhere.',
  },
};

export function LessonGuide() {
  const panel = useLessonStore(selectPanel);
  const setPanel = useLessonStore((state) => state.setPanel);
  const index = PANELS.findIndex((p) => p.id === panel);
  const next = PANELS[(index + 1) % PANELS.length];
  const guide = GUIDE[panel];
  return (
    <aside className="lesson-guide" aria-label="Lesson guide" data-testid="lesson-guide">
      <details open>
        <summary>
          <strong>Lesson guide</strong> — {guide.step}
        </summary>
        <dl className="guide-facts">
          <dt>What this step is</dt>
          <dd>{guide.what}</dd>
          <dt>What to do now</dt>
          <dd>{guide.now}</dd>
          <dt>A good result</dt>
          <dd>{guide.good}</dd>
        </dl>
        <button type="button" className="secondary" onClick={() => setPanel(next.id)}>
          Next: {next.title} →
        </button>
      </details>
      <QuickDemo offerStart={panel === 'model'} />
    </aside>
  );
}
