import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** styles.css as written (jsdom's URL cannot name a file, so the path is built from this file's). */
const readStyles = () => readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'styles.css'), 'utf8');

/** The colour variables as styles.css declares them in :root. */
function cssVariables(): Map<string, string> {
  const css = readStyles();
  const root = /:root\s*{([^}]*)}/.exec(css)?.[1] ?? '';
  return new Map(
    [...root.matchAll(/(--[\w-]+)\s*:\s*(#[0-9a-f]{6})\s*;/gi)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
}

/** WCAG 2.2 relative luminance (§ "relative luminance") of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
}

describe('colour contrast of the dashboard palette (WCAG 2.2)', () => {
  const vars = cssVariables();
  const colour = (name: string) => {
    const value = vars.get(name);
    if (!value) throw new Error(`${name} is not a #rrggbb colour in :root of styles.css`);
    return value;
  };

  it('gives white text on a danger button at least 4.5:1 (1.4.3, AA)', () => {
    expect(contrast('#ffffff', colour('--danger'))).toBeGreaterThanOrEqual(4.5);
  });

  it('keeps danger borders and bars at least 3:1 on the page and the panels (1.4.11)', () => {
    for (const ground of ['--bg', '--panel'])
      expect(contrast(colour('--danger'), colour(ground)), ground).toBeGreaterThanOrEqual(3);
    // .chip-danger: its border on its own pale background.
    expect(contrast(colour('--danger'), '#fbe7dc')).toBeGreaterThanOrEqual(3);
  });

  it('gives white text on the header and on primary buttons at least 4.5:1', () => {
    expect(contrast('#ffffff', colour('--brand'))).toBeGreaterThanOrEqual(4.5);
  });

  it('draws focus rings at least 3:1 against what they sit on (2.4.11, 2.4.13)', () => {
    expect(contrast(colour('--focus'), colour('--bg'))).toBeGreaterThanOrEqual(3);
    expect(contrast(colour('--focus'), colour('--panel'))).toBeGreaterThanOrEqual(3);
    expect(contrast(colour('--focus-on-brand'), colour('--brand'))).toBeGreaterThanOrEqual(3);
  });

  it('does not draw the header focus ring in the header colour', () => {
    const css = readStyles();
    const rule = /\.topbar :focus-visible\s*{([^}]*)}/.exec(css)?.[1] ?? '';
    expect(rule).toMatch(/outline:\s*3px solid var\(--focus-on-brand\)/);
  });
});
