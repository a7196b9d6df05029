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

/**
 * Control and format characters (line breaks, terminal escapes, bidirectional overrides) in
 * stored text become spaces on a terminal.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}]+/gu;

/**
 * Rows under a header, each column as wide as its widest cell (two spaces apart), for the
 * human-readable form of a list. Cells are made printable first: a device's model or a
 * quarantine reason may come from the API, and must not move the operator's cursor or forge a
 * line of the table.
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const cells = rows.map((r) => header.map((_, i) => (r[i] ?? '').replace(UNPRINTABLE, ' ')));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (row: readonly string[]) =>
    widths
      .map((w, i) => (row[i] ?? '').padEnd(w))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)];
}

/** An instant for a person reading a table, to the minute in UTC: 2026-03-01 14:05Z. */
export function minuteUtc(ms: number | null, none = '-'): string {
  return ms === null ? none : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}
