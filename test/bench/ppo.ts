// PPO throughput for the browser benchmark: iterations of PpoTrainer at a pipeline preset's shape
// (B episodes, sequences of T tokens, up to maxNewTokens new tokens each, ppoEpochs passes of
// minibatch updates), in episodes per second, with the wall time of each phase. The phases are read
// off the trainer's calls to its models, timed by wrapping those instances' methods (ppo.ts is
// measured as it is, not changed):
//   rollout          the sampler's generate() (all decode steps in one submit);
//   forward passes   old policy log-probs and entropy, reference log-probs, values and scores (the
//                    four evaluate() calls of the rollout, one Promise.all) and the CPU work between;
//   policy updates   Σ policy evaluate() + step() in the epochs' minibatches;
//   value updates    Σ value evaluate() + step();
//   CPU              the rest: rewards, GAE, the clipped losses, minibatch assembly, metrics.
// The models are random-initialised at the shipped model's size (the work does not depend on the
// weights: every decode step runs for every row, as GptSampler does).
import type { PpoPhase, PpoRow, PpoShape } from '../../src/cli/bench.ts';
import { initParameters, initScalarHead, makeConfig } from '../../src/model/config.ts';
import type { GptModel } from '../../src/model/gpt.ts';
import type { GptSampler } from '../../src/model/sampler.ts';
import type { Tokenizer } from '../../src/model/tokenizer.ts';
import { createPpoModels, PpoTrainer, type PpoModels } from '../../src/rlhf/ppo.ts';
import { spread } from './measure.ts';

interface Call {
  what: 'generate' | 'rollout-evaluate' | 'policy' | 'value' | 'other';
  start: number;
  end: number;
}

/** Replaces an instance's async method by one that records each call's wall time. */
function timeCalls<T extends object>(
  target: T,
  method: 'evaluate' | 'step' | 'generate',
  record: (start: number, end: number) => void,
): void {
  const instance = target as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = instance[method].bind(target);
  instance[method] = async (...args: unknown[]) => {
    const start = performance.now();
    try {
      return await original(...args);
    } finally {
      record(start, performance.now());
    }
  };
}

/**
 * Wraps the models' and the sampler's methods; returns the calls of the current iteration (cleared
 * by the caller). reward.evaluate only runs in the rollout's forward passes, so the forward-pass
 * phase ends when the last of those resolves; policy and value calls after it are updates.
 */
function instrument(models: PpoModels, sampler: GptSampler): Call[] {
  const calls: Call[] = [];
  const add = (what: Call['what']) => (start: number, end: number) => calls.push({ what, start, end });
  timeCalls(sampler, 'generate', add('generate'));
  timeCalls(models.reward, 'evaluate', add('rollout-evaluate'));
  timeCalls(models.reference, 'evaluate', add('rollout-evaluate'));
  for (const [model, what] of [
    [models.policy, 'policy'],
    [models.value, 'value'],
  ] as Array<[GptModel, Call['what']]>) {
    timeCalls(model, 'evaluate', add(what));
    timeCalls(model, 'step', add(what));
  }
  return calls;
}

/** One iteration's phases (ms) from its calls, between `started` and `ended`. */
function phasesOf(calls: Call[], started: number, ended: number): Record<PpoPhase, number> {
  const generate = calls.find((c) => c.what === 'generate');
  const rolloutEnd = Math.max(...calls.filter((c) => c.what === 'rollout-evaluate').map((c) => c.end));
  if (!generate || !Number.isFinite(rolloutEnd)) throw new Error('PPO bench: the iteration made no rollout');
  const updates = (what: Call['what']) =>
    calls.filter((c) => c.what === what && c.start >= rolloutEnd).reduce((sum, c) => sum + c.end - c.start, 0);
  const phases = {
    rollout: generate.end - generate.start,
    forward_passes: rolloutEnd - generate.end,
    policy_updates: updates('policy'),
    value_updates: updates('value'),
  };
  const cpu = ended - started - phases.rollout - phases.forward_passes - phases.policy_updates - phases.value_updates;
  return { ...phases, cpu };
}

/** Times `repeats` PPO iterations (after one warm-up: pipeline compilation) on the page's device. */
export async function ppoRow(
  device: GPUDevice,
  shape: PpoShape,
  tokenizer: Tokenizer,
  repeats: number,
  log: (line: string) => void,
): Promise<PpoRow> {
  const config = makeConfig(shape.modelPreset, tokenizer.vocabSize);
  const { eosId } = tokenizer;
  const { B, T } = shape;
  const sft = initParameters(config, 3);
  const head = initScalarHead(config, 4);
  const rewardModel = new Float32Array(sft.length + head.length); // trunk, then the scalar head
  rewardModel.set(initParameters(config, 5));
  rewardModel.set(head, sft.length);
  const models = createPpoModels(device, config, { sft, rewardModel }, B, T);
  const trainer = new PpoTrainer(models, {
    eosId,
    maxNewTokens: shape.maxNewTokens,
    ppoEpochs: shape.ppoEpochs,
    seed: 1,
  });
  const prompts = Array.from({ length: B }, (_, b) =>
    Array.from({ length: shape.promptTokens }, (_, t) => (b * 31 + t * 17 + 1) % eosId),
  );
  const calls = instrument(models, (trainer as unknown as { sampler: GptSampler }).sampler);
  log(
    `PPO ${shape.pipelinePreset}: ${shape.modelPreset} model, B=${B} episodes, T=${T}, ${shape.maxNewTokens} new tokens, ${shape.ppoEpochs} epochs`,
  );
  try {
    const iterations: Array<{ seconds: number; phases: Record<PpoPhase, number> }> = [];
    for (let i = 0; i <= repeats; i++) {
      calls.length = 0;
      const started = performance.now();
      await trainer.iterate(prompts);
      const ended = performance.now();
      const phases = phasesOf(calls, started, ended);
      log(
        `  ${i === 0 ? 'warm-up' : `run ${i}/${repeats}`}: ${((ended - started) / 1000).toFixed(2)} s (${Object.entries(
          phases,
        )
          .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)}`)
          .join(', ')})`,
      );
      if (i > 0) iterations.push({ seconds: (ended - started) / 1000, phases });
    }
    const phaseNames = Object.keys(iterations[0].phases) as PpoPhase[];
    return {
      ...shape,
      episodesPerSecond: spread(iterations.map((it) => B / it.seconds)),
      phaseSeconds: Object.fromEntries(
        phaseNames.map((name) => [name, spread(iterations.map((it) => it.phases[name] / 1000)).median]),
      ) as Record<PpoPhase, number>,
    };
  } finally {
    trainer.destroy();
    Object.values(models).forEach((model) => model.destroy());
  }
}
