// `rlhf-lab ppo` (options and defaults: commands.ts, `rlhf-lab ppo --help`): PPO
// (InstructGPT §3.5) from the SFT policy against the reward model, on TinyWorld's train prompts,
// with the per-token KL penalty β and, when --ptx γ > 0, the pretraining mix (PPO-ptx). Each
// iteration's TRL metrics stream to stderr and, with --metrics, as one JSON line per iteration
// (metrics and a few sample completions with their rewards) to a file. Writes the policy as a
// 'policy' checkpoint whose lineage names the SFT parent and the reward model.
import { appendFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_PPO_ADAMW, type PpoMetrics } from '../rlhf/ppo.ts';
import { PpoStage, streamPromptOrder, type PpoStageIteration } from '../rlhf/ppo-stage.ts';
import { promptsThatFit } from '../rlhf/model-outputs.ts';
import { pretrainingMixStream } from '../rlhf/pretraining-text.ts';
import { buildPromptSet, formatPrompt } from '../world/index.ts';
import {
  adapterName,
  lineage,
  outOption,
  readLanguageModel,
  readRewardModelFor,
  shapeOptions,
  worldSeedOption,
} from './common.ts';
import { checkOutputFile, writeFileAtomically } from './files.ts';
import { writeCheckpointDir } from './fs-checkpoint.ts';
import { numberOption, optionalNumberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

/** An iteration's sample completions as text. */
interface SampleRow {
  prompt: string;
  response: string;
  ended: boolean;
  reward: number;
  kl: number;
}

export async function ppoCommand(context: CommandContext): Promise<unknown> {
  const out = await outOption(context);
  const metricsPath = optionalStringOption(context, 'metrics');
  if (metricsPath) await checkOutputFile(metricsPath, '--metrics');
  const policyDir = optionalStringOption(context, 'policy');
  if (policyDir === undefined) throw new Error('--policy SFT_DIR is required (the SFT checkpoint PPO starts from)');
  const rewardDir = optionalStringOption(context, 'reward-model');
  if (rewardDir === undefined)
    throw new Error('--reward-model RM_DIR is required (a checkpoint written by rlhf-lab rm)');
  const sft = await readLanguageModel(policyDir, '--policy');
  const rewardModel = await readRewardModelFor(rewardDir, sft);
  const worldSeed = worldSeedOption(context, sft);
  const { B, T } = shapeOptions(context, sft);
  const iterations = numberOption(context, 'iterations');
  const klCoef = numberOption(context, 'kl-coef');
  const klTarget = optionalNumberOption(context, 'kl-target');
  const lr = numberOption(context, 'lr');
  const ptx = numberOption(context, 'ptx');
  const ppoEpochs = numberOption(context, 'epochs');
  const maxNewTokens = numberOption(context, 'max-tokens');
  const seed = numberOption(context, 'seed');
  if (B < 2) throw new Error('--batch must be at least 2 for PPO (advantages are whitened over the batch)');

  const { tokenizer, config } = sft;
  const prompts = promptsThatFit(tokenizer, buildPromptSet(worldSeed).train, maxNewTokens, T);
  if (prompts.length === 0)
    throw new Error(`no TinyWorld train prompt leaves room for ${maxNewTokens} new tokens within --seq ${T}`);
  const promptIds = prompts.map((p) => tokenizer.encode(formatPrompt(p.text)));
  if (metricsPath) await writeFileAtomically(metricsPath, '');
  const algorithm = ptx > 0 ? 'ppo-ptx' : 'ppo';
  context.log(
    `${algorithm} from ${policyDir} against ${rewardDir}: ${iterations} iterations of ${B} episodes, β ${klCoef}${klTarget === undefined ? '' : ` (adaptive, target ${klTarget})`}, lr ${lr}${ptx > 0 ? `, γ_ptx ${ptx}` : ''}`,
  );
  const started = performance.now();

  return withGpu(async (gpu) => {
    const optimizer = { ...DEFAULT_PPO_ADAMW, lr };
    const history: PpoMetrics[] = [];
    let samples: SampleRow[] = [];
    const onMetrics = async ({ iteration, metrics, samples: rows, batch }: PpoStageIteration) => {
      gpu.assertHealthy();
      history.push(metrics);
      samples = rows.map((row) => ({
        prompt: prompts[batch[row.promptIndex]].text,
        response: tokenizer.decode(row.ended ? row.response.slice(0, -1) : row.response),
        ended: row.ended,
        reward: row.reward,
        kl: row.kl,
      }));
      context.log(
        `${algorithm} iteration ${iteration + 1}/${iterations} score ${metrics['objective/scores'].toFixed(3)} kl ${metrics['objective/kl'].toFixed(3)} ` +
          `entropy ${metrics['objective/entropy'].toFixed(3)} rlhf_reward ${metrics['objective/rlhf_reward'].toFixed(3)} clipfrac ${metrics['policy/clipfrac_avg'].toFixed(3)} ` +
          `value loss ${metrics['loss/value_avg'].toFixed(3)} length ${metrics.response_length_mean.toFixed(1)} ended ${(100 * metrics.ended_share).toFixed(0)}%`,
      );
      if (metricsPath)
        await appendFile(metricsPath, `${JSON.stringify({ iteration: iteration + 1, ...metrics, samples })}\n`);
    };
    // the pipeline's prompt order: B train prompts drawn uniformly per iteration
    const order = streamPromptOrder(algorithm === 'ppo' ? 'ppo' : 'ppo_ptx', seed);
    const ppo = PpoStage.create(gpu.device, sft, rewardModel.weights, promptIds, order, {
      B,
      T,
      eosId: tokenizer.eosId,
      maxNewTokens,
      klCoef,
      ...(klTarget !== undefined && { adaptiveKl: { target: klTarget, horizon: 10_000 } }),
      ppoEpochs,
      policyOptimizer: optimizer,
      valueOptimizer: optimizer,
      seed,
      ...(ptx > 0 && { ptx: { stream: pretrainingMixStream(tokenizer, worldSeed), coef: ptx } }),
    });
    let params: Float32Array;
    try {
      for (let i = 0; i < iterations; i++) await onMetrics(await ppo.iterate(i));
      params = await ppo.readPolicy();
    } finally {
      ppo.destroy();
    }
    const meta = lineage('policy', policyDir, sft, worldSeed, seed, {
      algorithm,
      reward_model: resolve(rewardDir),
      iterations,
      kl_coef: klCoef,
      ...(klTarget !== undefined && { kl_target: klTarget }),
      lr,
      ptx,
    });
    await writeCheckpointDir(out, { config, params, tokenizer, meta });
    const last = history.at(-1)!;
    context.log(
      `wrote ${out}: score ${history[0]['objective/scores'].toFixed(3)} → ${last['objective/scores'].toFixed(3)}, kl ${last['objective/kl'].toFixed(3)}`,
    );
    for (const s of samples)
      context.log(`  ${s.prompt} → ${JSON.stringify(s.response)} (reward ${s.reward.toFixed(3)})`);
    return {
      out,
      policy: policyDir,
      reward_model: rewardDir,
      algorithm,
      iterations,
      final: last,
      metrics: history,
      samples,
      ...(metricsPath && { metrics_file: metricsPath }),
      seconds: (performance.now() - started) / 1000,
      adapter: adapterName(gpu),
    };
  });
}
