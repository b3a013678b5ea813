// Parsing of numeric CLI options with clear errors ("--steps must be an integer ≥ 1, got 'x'").
import type { CommandContext } from './main.ts';

export function numberOption(context: CommandContext, name: string, fallback: number, rules: { integer?: boolean; min?: number; max?: number } = {}): number {
  const raw = context.values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const bounds = [rules.min !== undefined ? `≥ ${rules.min}` : '', rules.max !== undefined ? `≤ ${rules.max}` : ''].filter(Boolean).join(' and ');
  const kind = rules.integer ? 'an integer' : 'a number';
  const bad = typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || (rules.integer && !Number.isInteger(value)) || (rules.min !== undefined && value < rules.min) || (rules.max !== undefined && value > rules.max);
  if (bad) throw new Error(`--${name} must be ${kind}${bounds ? ` ${bounds}` : ''}, got '${String(raw)}'`);
  return value;
}

export function stringOption(context: CommandContext, name: string): string | undefined {
  const raw = context.values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw === '') throw new Error(`--${name} needs a value`);
  return raw;
}
