// Calibrates the simulated labelers' noise on the comparisons the pipeline actually makes. Reads
// the train and held-out rankings a pipeline run saved (`rlhf-lab pipeline --out DIR` writes
// DIR/rankings.jsonl and DIR/heldout-rankings.jsonl: K outputs of the SFT model per prompt), and
// for a grid of noise scales prints how often two different members of each labeler pool agree
// on them — the figure the paper reports as 72.6% ± 1.5 (training labelers) and 77.3% ± 1.3
// (held-out labelers) — beside the labelerCeiling (how often the pool's noise-free consensus
// orders the pool's own rankings as ranked). A tool, not a test; docs/tinyworld.md gives its output.
//   npx tsx tools/calibrate-labelers.ts --rankings DIR/rankings.jsonl --heldout-rankings DIR/heldout-rankings.jsonl [--world-seed 1]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseRankings } from '../src/rlhf/datasets.ts';
import { labelerAgreement, labelerCeiling, simulatedRankings } from '../src/rlhf/rankings.ts';
import {
  buildPromptSet,
  createLabelerPool,
  createRng,
  heldoutLabeler,
  trainingLabeler,
  type LabelerPool,
  type Prompt,
  type Ranking,
} from '../src/world/index.ts';

/** The paper's inter-labeler agreement (InstructGPT §5.1 and Appendix B). */
const TARGETS = { training: 0.726, heldout: 0.773 };
/** Noise multipliers tried, applied to both the perception noise and the Plackett–Luce temperature. */
const SCALES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1];

function rescaled(pool: LabelerPool, scale: number): LabelerPool {
  const { config } = pool;
  return createLabelerPool({ ...config, noise: config.noise * scale, temperature: config.temperature * scale });
}

function report(
  name: 'training' | 'heldout',
  pool: LabelerPool,
  rankings: Ranking[],
  prompts: readonly Prompt[],
): void {
  console.log(
    `\n${name} pool on ${rankings.length} prompts × ${rankings[0]?.responses.length ?? 0} outputs (target agreement ${(100 * TARGETS[name]).toFixed(1)}% ± 3)`,
  );
  console.log('| scale | noise | temperature | agreement | ceiling |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const scale of SCALES) {
    const labeler = rescaled(pool, scale);
    const agreement = labelerAgreement(rankings, prompts, labeler, createRng(`calibrate-${name}`));
    const ranked = simulatedRankings(
      rankings.map((r) => prompts.find((p) => p.id === r.promptId)!),
      rankings.map((r) => r.responses),
      labeler,
      createRng(`rank-${name}`),
    );
    const ceiling = labelerCeiling(ranked, prompts, labeler);
    const mark = Math.abs(agreement - TARGETS[name]) <= 0.03 ? ' ←' : '';
    console.log(
      `| ${scale} | ${labeler.config.noise.toFixed(3)} | ${labeler.config.temperature.toFixed(3)} | ${(100 * agreement).toFixed(1)}%${mark} | ${(100 * ceiling).toFixed(1)}% |`,
    );
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      rankings: { type: 'string' },
      'heldout-rankings': { type: 'string' },
      'world-seed': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.rankings || !values['heldout-rankings']) {
    console.log(
      'usage: npx tsx tools/calibrate-labelers.ts --rankings train.jsonl --heldout-rankings heldout.jsonl [--world-seed 1]',
    );
    process.exit(values.help ? 0 : 2);
  }
  const prompts = buildPromptSet(Number(values['world-seed'] ?? 1));
  report('training', trainingLabeler, parseRankings(readFileSync(values.rankings, 'utf8')), prompts.train);
  report('heldout', heldoutLabeler, parseRankings(readFileSync(values['heldout-rankings'], 'utf8')), prompts.heldout);
}

main();
