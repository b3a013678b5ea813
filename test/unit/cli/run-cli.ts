// Runs the CLI in-process for tests: main(argv) with console.log and console.error captured, and the
// last stdout line parsed when --json asked for it (the JSON result).
import { vi } from 'vitest';
import { main } from '../../../src/cli/main.ts';

export interface CliRun {
  code: number;
  stdout: string[];
  stderr: string[];
  /** Under --json, the last stdout line parsed as JSON. */
  result: unknown;
}

export async function runCli(argv: string[]): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void stdout.push(args.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void stderr.push(args.join(' ')));
  try {
    const code = await main(argv);
    const last = stdout.at(-1);
    return {
      code,
      stdout,
      stderr,
      result: last === undefined || !argv.includes('--json') ? undefined : JSON.parse(last),
    };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
