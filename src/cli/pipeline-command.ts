// `rlhf-lab pipeline` (options and defaults: commands.ts, `rlhf-lab pipeline --help`): the whole
// InstructGPT recipe from a base checkpoint, each stage saved under --out and resumable. The run
// itself lives in pipeline-run.ts, which `rlhf-lab gpu-check --pipeline` runs too.
export { runPipelineCommand as pipelineCommand } from './pipeline-run.ts';
