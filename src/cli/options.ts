// Command-line options, declared once: each command's options are OptionSpecs in commands.ts (the
// value's name, a description, the default, the bounds), main.ts builds the parser and the --help
// text from them, and a command reads what was given — else the declared default — through the
// readers below, which check numbers with clear errors ("--steps must be an integer ≥ 1, got 'x'").
import type { CommandContext } from './main.ts';

/** Bounds of a number option; `max` may also be a limit known only at run time (a model's context). */
export interface NumberRules {
  integer?: boolean;
  min?: number;
  max?: number;
}

/** What --help says of a default the command works out at run time (from the model, the adapter…). */
interface DefaultNote {
  defaultNote?: string;
}

/** One option of a command: a flag, a text value or a number. */
export type OptionSpec =
  | { kind: 'flag'; description: string }
  | ({ kind: 'text'; value: string; description: string; default?: string } & DefaultNote)
  | ({ kind: 'number'; value: string; description: string; default?: number } & DefaultNote & NumberRules);

/** A command's options by name (the name after `--`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type Described<K> = Omit<Extract<OptionSpec, { kind: K }>, 'kind' | 'value' | 'description'>;

/** A flag: present or not. */
export function flag(description: string): OptionSpec {
  return { kind: 'flag', description };
}

/** A text option; `value` names it in the help (`--out <DIR>`). */
export function text(value: string, description: string, more: Described<'text'> = {}): OptionSpec {
  return { kind: 'text', value, description, ...more };
}

/** A whole-number option. */
export function integer(value: string, description: string, more: Omit<Described<'number'>, 'integer'>): OptionSpec {
  return { kind: 'number', value, description, integer: true, ...more };
}

/** A real-number option. */
export function real(value: string, description: string, more: Omit<Described<'number'>, 'integer'>): OptionSpec {
  return { kind: 'number', value, description, ...more };
}

/** The default as --help shows it: the declared value, or the note of a run-time default. */
export function defaultText(spec: OptionSpec): string | undefined {
  if (spec.kind === 'flag') return undefined;
  return spec.default !== undefined ? String(spec.default) : spec.defaultNote;
}

function declared<K extends OptionSpec['kind']>(
  context: CommandContext,
  name: string,
  kind: K,
): Extract<OptionSpec, { kind: K }> {
  const spec = context.options[name];
  if (spec?.kind !== kind) throw new Error(`--${name} is not a declared ${kind} option of this command`);
  return spec as Extract<OptionSpec, { kind: K }>;
}

/** --NAME as given (checked against its declared bounds and `limits`), else its declared default, else undefined. */
export function optionalNumberOption(
  context: CommandContext,
  name: string,
  limits: NumberRules = {},
): number | undefined {
  const spec = declared(context, name, 'number');
  const raw = context.values[name] ?? (spec.default === undefined ? undefined : String(spec.default));
  if (raw === undefined) return undefined;
  const rules = { ...spec, ...limits };
  const value = Number(raw);
  const bounds = [rules.min !== undefined ? `≥ ${rules.min}` : '', rules.max !== undefined ? `≤ ${rules.max}` : '']
    .filter(Boolean)
    .join(' and ');
  const kind = rules.integer ? 'an integer' : 'a number';
  const bad =
    typeof raw !== 'string' ||
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    (rules.integer && !Number.isInteger(value)) ||
    (rules.min !== undefined && value < rules.min) ||
    (rules.max !== undefined && value > rules.max);
  if (bad) throw new Error(`--${name} must be ${kind}${bounds ? ` ${bounds}` : ''}, got '${String(raw)}'`);
  return value;
}

/** Checks every number option given against its declared bounds, so a bad value fails before the command starts. */
export function checkGivenNumbers(context: CommandContext): void {
  for (const [name, spec] of Object.entries(context.options))
    if (spec.kind === 'number' && context.values[name] !== undefined) optionalNumberOption(context, name);
}

/** As optionalNumberOption, for an option declared with a default (or required). */
export function numberOption(context: CommandContext, name: string, limits: NumberRules = {}): number {
  const value = optionalNumberOption(context, name, limits);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

/** --NAME as given (not empty), else its declared default, else undefined. */
export function optionalStringOption(context: CommandContext, name: string): string | undefined {
  const spec = declared(context, name, 'text');
  const raw = context.values[name];
  if (raw === undefined) return spec.default;
  if (typeof raw !== 'string' || raw === '') throw new Error(`--${name} needs a value`);
  return raw;
}

/** As optionalStringOption, for an option declared with a default (or required). */
export function stringOption(context: CommandContext, name: string): string {
  const value = optionalStringOption(context, name);
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}
