// `rlhf-lab pack create|merge`: ranking packs for a class (src/rlhf/ranking-packs.ts) prepared
// and analysed from the command line.
//   pack create [--model DIR[,DIR…]] --out pack.json [--prompts N --K 4 --max-tokens --temperature
//               --seed --world-seed --batch --seq]   K sampled outputs for each of N TinyWorld train
//               prompts; with several models, output k comes from model k mod m
//   pack merge pack.json FILES... [--exclude NAME,NAME --out rankings.jsonl]   the class's hand-ins
//               (rankings files or text codes, one per file) validated, merged and their agreement
// The merged rankings file is a rankings JSONL that `rlhf-lab rm --rankings` and `dpo --rankings` read.
import { basename, resolve } from 'node:path';
import { createStorageBufferFrom } from '../engine/buffers.ts';
import { DEFAULT_SAMPLING } from '../model/sampler.ts';
import { rankingsToJsonl } from '../rlhf/datasets.ts';
import { promptsThatFit, sampleOutputs } from '../rlhf/model-outputs.ts';
import {
  makePack,
  MAX_HAND_IN_BYTES,
  MAX_LINK_CODE_CHARS,
  MAX_PACK_BYTES,
  mergeHandIns,
  packLink,
  packToJson,
  PAPER_AGREEMENT,
  readPack,
  type ClassMerge,
  type Submission,
} from '../rlhf/ranking-packs.ts';
import { buildPromptSet } from '../world/index.ts';
import { checkOutputFile, readFileText, writeFileAtomically } from './files.ts';
import { resolveModelDir } from './fs-checkpoint.ts';
import { numberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { adapterName, readLanguageModel, shapeOptions, worldSeedOption } from './common.ts';
import { withGpu } from './with-gpu.ts';

export async function packCommand(context: CommandContext): Promise<unknown> {
  const [action, ...rest] = context.positionals;
  if (action === 'create' && rest.length === 0) return createPack(context);
  if (action === 'merge') return mergePack(context, rest);
  throw new Error(
    'usage: rlhf-lab pack create --out pack.json [options] | rlhf-lab pack merge pack.json FILES... [--out rankings.jsonl]',
  );
}

async function createPack(context: CommandContext): Promise<unknown> {
  const out = optionalStringOption(context, 'out');
  if (out === undefined) throw new Error('--out pack.json is required (the pack file to write)');
  await checkOutputFile(out, '--out');
  const modelDirs = resolveModelDir(context.values.model)
    .split(',')
    .map((dir) => dir.trim())
    .filter((dir) => dir !== '');
  const checkpoints = await Promise.all(modelDirs.map((dir) => readLanguageModel(dir, '--model')));
  const worldSeed = worldSeedOption(context, checkpoints[0]);
  const shortest = checkpoints.reduce((a, b) => (b.config.nCtx < a.config.nCtx ? b : a));
  const { B, T } = shapeOptions(context, shortest);
  const count = numberOption(context, 'prompts');
  const K = numberOption(context, 'K');
  if (K < checkpoints.length)
    throw new Error(`--K ${K} is fewer outputs than the ${checkpoints.length} models of --model`);
  const sampling = {
    ...DEFAULT_SAMPLING,
    maxNewTokens: numberOption(context, 'max-tokens'),
    temperature: numberOption(context, 'temperature'),
    seed: numberOption(context, 'seed'),
  };
  const prompts = checkpoints
    .reduce(
      (fitting, c) => promptsThatFit(c.tokenizer, fitting, sampling.maxNewTokens, T),
      buildPromptSet(worldSeed).train,
    )
    .slice(0, count);
  if (prompts.length === 0)
    throw new Error(`no TinyWorld train prompt leaves room for ${sampling.maxNewTokens} new tokens within --seq ${T}`);
  context.log(
    `sampling ${K} outputs for ${prompts.length} TinyWorld ${worldSeed} train prompts from ${modelDirs.join(' and ')}`,
  );

  return withGpu(async (gpu) => {
    // output k of a prompt comes from model k mod m (m models), as the paper mixed its models' outputs
    const outputsByModel: string[][][] = [];
    for (const [j, checkpoint] of checkpoints.entries()) {
      const params = createStorageBufferFrom(gpu.device, 'pack.params', checkpoint.params);
      try {
        const model = { config: checkpoint.config, tokenizer: checkpoint.tokenizer, params, B, T };
        const outputs = await sampleOutputs(gpu.device, model, prompts, Math.ceil((K - j) / checkpoints.length), {
          ...sampling,
          seed: sampling.seed + j,
        });
        outputsByModel.push(outputs.map((row) => row.map((r) => r.text)));
      } finally {
        params.destroy();
      }
    }
    const responses = (i: number) =>
      Array.from(
        { length: K },
        (_, k) => outputsByModel[k % checkpoints.length][i][Math.floor(k / checkpoints.length)],
      );
    const modelName = modelDirs.map((dir) => basename(resolve(dir))).join(' + ');
    const pack = makePack(
      modelName,
      worldSeed,
      prompts.map((p, i) => ({ promptId: p.id, prompt: p.text, responses: responses(i) })),
    );
    const json = packToJson(pack);
    await writeFileAtomically(out, json);
    const fragment = await packLink(pack, '');
    context.log(
      `wrote ${out}: pack ${pack.id}, ${pack.items.length} prompts × ${K} outputs, ${json.length} bytes; ${fragment ? `its link is the lab's address + #pack=… (${fragment.length} characters)` : `too big for a link (over ${MAX_LINK_CODE_CHARS} characters): hand out the file`}`,
    );
    return {
      out,
      pack: pack.id,
      model: pack.model,
      world_seed: worldSeed,
      prompts: pack.items.length,
      K,
      bytes: json.length,
      link_fragment: fragment ?? null,
      adapter: adapterName(gpu),
    };
  });
}

async function mergePack(context: CommandContext, paths: string[]): Promise<unknown> {
  const [packPath, ...files] = paths;
  if (packPath === undefined || files.length === 0)
    throw new Error("usage: rlhf-lab pack merge pack.json FILES... (the students' rankings files or text codes)");
  const out = optionalStringOption(context, 'out');
  if (out !== undefined) await checkOutputFile(out, '--out');
  const exclude = (optionalStringOption(context, 'exclude') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const packText = await readFileText(packPath, MAX_PACK_BYTES, 'ranking pack');
  const pack = await readPack(packText).catch((error: Error) => {
    throw new Error(`${packPath}: ${error.message}`, { cause: error });
  });
  const submissions: Submission[] = [];
  for (const path of files) {
    const text = await readFileText(path, MAX_HAND_IN_BYTES, 'rankings file').catch((error: Error) => error);
    submissions.push(text instanceof Error ? { name: path, unreadable: text.message } : { name: path, text });
  }
  const merge = await mergeHandIns(pack, submissions, exclude);
  logMerge(context, merge);
  if (out !== undefined) {
    if (merge.rankings.length === 0) throw new Error(`no rankings to write to ${out}: no hand-in was merged`);
    await writeFileAtomically(out, rankingsToJsonl(merge.rankings));
    context.log(`wrote ${merge.rankings.length} rankings to ${out} (rlhf-lab rm --rankings ${out})`);
  }
  const { agreement } = merge;
  return {
    pack: pack.id,
    model: pack.model,
    labelers: merge.labelers.length,
    rankings: merge.rankings.length,
    submissions: merge.submissions,
    agreement: {
      pairwise_mean: agreement.pairwiseMean,
      paper_pairwise: PAPER_AGREEMENT,
      simulated_pairwise: agreement.simulatedPairwise,
      with_simulated_labeler: agreement.withSimulatedLabeler,
      per_labeler: Object.fromEntries(agreement.perLabeler.map((l) => [l.labeler, l.withMajority])),
      students: agreement.perLabeler.map((l) => ({
        labeler: l.labeler,
        rankings: l.rankings,
        with_majority: l.withMajority,
        with_simulated_labeler: l.withSimulatedLabeler,
      })),
      matrix: { labelers: agreement.labelers, values: agreement.matrix },
    },
    out: out ?? null,
  };
}

const percent = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);

function logMerge(context: CommandContext, merge: ClassMerge): void {
  for (const s of merge.submissions)
    context.log(
      `${s.name}: ${s.status === 'rejected' ? `rejected — ${s.reason}` : `${s.status}, ${s.labeler}, ${s.rankings} rankings`}`,
    );
  const { agreement } = merge;
  context.log(
    `${merge.labelers.length} students, ${merge.rankings.length} rankings; students agree on ${percent(agreement.pairwiseMean)} of comparisons (the paper's labelers: ${percent(PAPER_AGREEMENT)}; two simulated labelers on these outputs: ${percent(agreement.simulatedPairwise)})`,
  );
  for (const l of agreement.perLabeler)
    context.log(
      `  ${l.labeler}: ${l.rankings} rankings, with the class majority ${percent(l.withMajority)}, with the simulated labeler ${percent(l.withSimulatedLabeler)}`,
    );
}
