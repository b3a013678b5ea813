// The `rlhf-lab` command line: headless runs of the lab's engine through Dawn (WebGPU in Node).
// Every command accepts --json and then prints one JSON object as its last line. Text printed to
// the terminal has its control characters escaped (printable), since it may echo a file's bytes.
import { Command, CommanderError, Option } from 'commander';
import { COMMANDS, type CommandName, type CommandSpec } from './commands.ts';
import { checkGivenNumbers, defaultText, type OptionSpec, type OptionSpecs } from './options.ts';

export interface CommandContext {
  /** The options given on the command line (flags true, values as text); a declared default is not here (options.ts reads it). */
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  json: boolean;
  /** The command's declared options (commands.ts), whose defaults and bounds the readers of options.ts apply. */
  options: OptionSpecs;
  /** Human-readable progress and results (stderr when --json, so stdout ends with the JSON line). */
  log(message: string): void;
}

type Run = (context: CommandContext) => Promise<unknown>;

/** Each command's code, loaded when it runs (so --help loads none of it). */
const RUNS: Record<CommandName, () => Promise<Run>> = {
  gpu: async () => (await import('./gpu-command.ts')).gpuCommand,
  world: async () => (await import('./world-command.ts')).worldCommand,
  tokenize: async () => (await import('./tokenize-command.ts')).tokenizeCommand,
  score: async () => (await import('./score-command.ts')).scoreCommand,
  sample: async () => (await import('./sample-command.ts')).sampleCommand,
  'export-onnx': async () => (await import('./export-onnx-command.ts')).exportOnnxCommand,
  pretrain: async () => (await import('./pretrain-command.ts')).pretrainCommand,
  sft: async () => (await import('./sft-command.ts')).sftCommand,
  rm: async () => (await import('./rm-command.ts')).rmCommand,
  ppo: async () => (await import('./ppo-command.ts')).ppoCommand,
  dpo: async () => (await import('./dpo-command.ts')).dpoCommand,
  pack: async () => (await import('./pack-command.ts')).packCommand,
  eval: async () => (await import('./eval-command.ts')).evalCommand,
  pipeline: async () => (await import('./pipeline-command.ts')).pipelineCommand,
  bench: async () => (await import('./bench-command.ts')).benchCommand,
  'gpu-check': async () => (await import('./gpu-check-command.ts')).gpuCheckCommand,
};

/** Control characters other than newline and tab (C0, DEL, C1), which a terminal would act on. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The text with each control character written as a \u escape (ESC → \u001b), safe to print; JSON stays valid JSON. */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Shown under every --help of the program. */
const ENVIRONMENT = [
  '',
  'Environment:',
  '  RLHF_LAB_WEBGPU=swiftshader|llvmpipe|native  the Dawn backend (default swiftshader)',
  "  RLHF_LAB_CHROMIUM_WEBGPU_ADAPTER=default      bench and gpu-check: headless Chromium on the machine's GPU, not SwiftShader",
].join('\n');

/** Commander's codes for a help that was asked for (--help, `help`, no command): exit 0. */
const HELP_CODES = ['commander.helpDisplayed', 'commander.help'];

/** The parser's form of a declared option: `--epochs <N>`, described with its default. */
function parserOption(name: string, spec: OptionSpec): Option {
  const shown = defaultText(spec);
  const description = shown === undefined ? spec.description : `${spec.description} (default: ${shown})`;
  return new Option(spec.kind === 'flag' ? `--${name}` : `--${name} <${spec.value}>`, description);
}

/** What the command line asked for: the command, the options given and the positional words. */
interface Parsed {
  name: CommandName;
  values: CommandContext['values'];
  positionals: string[];
}

/** The options given to a parsed command, by their declared names (commander keys them in camelCase). */
function givenValues(command: Command): CommandContext['values'] {
  const values: CommandContext['values'] = {};
  for (const option of command.options) {
    const value: unknown = command.getOptionValue(option.attributeName());
    if (typeof value === 'string' || typeof value === 'boolean') values[option.name()] = value;
  }
  return values;
}

/** Takes `--old` (hidden from the help) only to refuse it with a usage error that names the option replacing it. */
function refuseRenamedOption(command: Command, old: string, now: string): void {
  command.addOption(new Option(`--${old} [value]`).hideHelp());
  command.on(`option:${old}`, () => command.error(`error: option '--${old}' was renamed --${now} (same meaning)`));
}

/** The parser and the help of every command, built from COMMANDS; `onParsed` receives the command line's command. */
function buildProgram(onParsed: (parsed: Parsed) => void): Command {
  const program = new Command('rlhf-lab')
    .description("RLHF Lab's engine without the browser: headless runs through Dawn (WebGPU in Node)")
    .usage('<command> [options] [--json]')
    .configureOutput({
      writeOut: (text) => console.log(printable(text.trimEnd())),
      writeErr: (text) => console.error(printable(text.trimEnd())),
    })
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText('after', ENVIRONMENT);
  for (const [name, spec] of Object.entries(COMMANDS) as [CommandName, CommandSpec][]) {
    const command = program
      .command(name)
      .summary(spec.summary)
      .description(spec.summary)
      .showHelpAfterError(`(rlhf-lab ${name} --help shows its options and examples)`);
    for (const [argument, description] of spec.arguments ?? []) command.argument(argument, description);
    for (const [option, declared] of Object.entries(spec.options)) command.addOption(parserOption(option, declared));
    for (const [old, now] of Object.entries(spec.renamed ?? {})) refuseRenamedOption(command, old, now);
    command.option('--json', 'print one JSON object as the last line of stdout (progress goes to stderr)');
    command.addHelpText('after', `\nExamples:\n${spec.examples.map((line) => `  ${line}`).join('\n')}\n${ENVIRONMENT}`);
    command.action(() => onParsed({ name, values: givenValues(command), positionals: command.args }));
  }
  return program;
}

/** Runs the command line; returns the exit code: 0 done (or help), 1 the command failed, 2 a usage error. */
export async function main(argv: string[]): Promise<number> {
  const asked: { command?: Parsed } = {};
  try {
    buildProgram((parsed) => (asked.command = parsed)).parse(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return HELP_CODES.includes(error.code) ? 0 : 2;
  }
  if (!asked.command) return 0;
  const { name, values, positionals } = asked.command;
  const json = values.json === true;
  const context: CommandContext = {
    values,
    positionals,
    json,
    options: COMMANDS[name].options,
    log: (message) => (json ? console.error(printable(message)) : console.log(printable(message))),
  };
  try {
    checkGivenNumbers(context);
    const run = await RUNS[name]();
    const result = await run(context);
    console.log(printable(JSON.stringify(result, null, json ? undefined : 2)));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`rlhf-lab ${name}: ${printable(message)}`);
    if (json) console.log(printable(JSON.stringify({ error: message })));
    return 1;
  }
}
