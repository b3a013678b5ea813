// The flat parameter layout of a whole model: the GPT-2 trunk, plus the scalar head for reward and
// value models, in one 256-byte-aligned buffer (so one AdamW pass updates everything).
import { parameterLayout, scalarHeadLayout, type GptConfig, type ParameterLayout } from './config.ts';

/** 'lm': trunk with the tied LM head; 'scalar': trunk + score head (reward model, value function). */
export type ModelKind = 'lm' | 'scalar';

export type ModelLayout = ParameterLayout;

export function modelLayout(config: GptConfig, kind: ModelKind): ModelLayout {
  const trunk = parameterLayout(config);
  if (kind === 'lm') return trunk;
  const head = scalarHeadLayout(config);
  return {
    tensors: [...trunk.tensors, ...head.tensors.map((t) => ({ ...t, offset: t.offset + trunk.totalFloats }))],
    totalFloats: trunk.totalFloats + head.totalFloats,
  };
}
