// The flat parameter layout of a whole model: the GPT-2 trunk, plus the scalar head for reward and
// value models, in one 256-byte-aligned buffer (so one AdamW pass updates everything). Also the one
// place that reads and writes a named tensor in such a flat array, and that joins a trunk and a
// head into a 'scalar' model's parameters or splits them again.
import { findTensor, parameterLayout, scalarHeadLayout, type GptConfig, type ParameterLayout } from './config.ts';

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

/** A copy of the named tensor's floats in `flat` (laid out by `layout`). */
export function readTensor(layout: ModelLayout, flat: Float32Array, name: string): Float32Array {
  const { offset, size } = findTensor(layout, name);
  return flat.slice(offset, offset + size);
}

/** Writes `values` over the named tensor's floats in `flat` (laid out by `layout`). */
export function writeTensor(layout: ModelLayout, flat: Float32Array, name: string, values: ArrayLike<number>): void {
  const { offset, size } = findTensor(layout, name);
  if (values.length !== size) throw new Error(`${name} has ${size} floats, got ${values.length}`);
  flat.set(values, offset);
}

/** Trunk and scalar head: a reward or value model's parameters as a checkpoint keeps them. */
export interface ScalarModelParams {
  /** Laid out by parameterLayout(config). */
  params: Float32Array;
  /** Laid out by scalarHeadLayout(config). */
  scalarHead: Float32Array;
}

/** A 'scalar' model's flat parameters (modelLayout 'scalar'): the trunk followed by the head. */
export function joinScalarParams(config: GptConfig, { params, scalarHead }: ScalarModelParams): Float32Array {
  const trunkFloats = parameterLayout(config).totalFloats;
  if (params.length !== trunkFloats)
    throw new Error(`expected ${trunkFloats} trunk parameter floats, got ${params.length}`);
  const headFloats = scalarHeadLayout(config).totalFloats;
  if (scalarHead.length !== headFloats)
    throw new Error(`expected ${headFloats} scalar-head floats, got ${scalarHead.length}`);
  const flat = new Float32Array(trunkFloats + headFloats);
  flat.set(params);
  flat.set(scalarHead, trunkFloats);
  return flat;
}

/** Splits a 'scalar' model's flat parameters into trunk and head (copies). */
export function splitScalarParams(config: GptConfig, flat: Float32Array): ScalarModelParams {
  const expected = modelLayout(config, 'scalar').totalFloats;
  if (flat.length !== expected) throw new Error(`expected ${expected} 'scalar' parameter floats, got ${flat.length}`);
  const trunkFloats = parameterLayout(config).totalFloats;
  return { params: flat.slice(0, trunkFloats), scalarHead: flat.slice(trunkFloats) };
}
