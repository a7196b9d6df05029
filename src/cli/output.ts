import { isVigilError } from '../errors/catalogue.ts';

export interface OutputOptions {
  json?: boolean;
}

/**
 * A command that produces a value prints it alone on the last line of stdout, after any
 * human-readable lines; with --json it prints one JSON object instead (DESIGN.md, CLI).
 */
export function emit(
  opts: OutputOptions,
  result: Record<string, unknown>,
  human: string[],
  value?: string,
): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  for (const line of human) process.stdout.write(`${line}\n`);
  if (value !== undefined) process.stdout.write(`${value}\n`);
}

/** One clear line on stderr and a non-zero exit; never a stack trace for expected errors. */
export function failAndExit(e: unknown): never {
  if (isVigilError(e)) {
    process.stderr.write(`vigil: ${e.detail}\n`);
    process.exit(2);
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`vigil: unexpected error: ${message.split('\n')[0]}\n`);
  process.exit(1);
}
