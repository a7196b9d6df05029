/**
 * Where in a JSON text something is. JSON.parse does not always say where a syntax error is,
 * and schema validators speak JSON pointers (RFC 6901); an operator fixing a 2 MB SBOM needs a
 * line and column. This walker runs only after a failure, so speed does not matter here.
 */

export interface TextPosition {
  line: number;
  column: number;
}

export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Walker {
  i = 0;
  readonly offsets = new Map<string, number>();
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw Object.assign(new Error(what), { offset: this.i });
  }
  ws(): void {
    while (this.i < this.s.length && /[ \t\r\n]/.test(this.s[this.i]!)) this.i++;
  }
  value(pointer: string): void {
    this.ws();
    this.offsets.set(pointer, this.i);
    const c = this.s[this.i];
    if (c === '{') {
      this.object(pointer);
      return;
    }
    if (c === '[') {
      this.array(pointer);
      return;
    }
    if (c === '"') {
      this.string();
      return;
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
      this.s.slice(this.i, this.i + 400),
    );
    if (!m)
      this.fail(c === undefined ? 'unexpected end of JSON' : `unexpected character ${JSON.stringify(c)}`);
    this.i += m[0].length;
  }
  string(): string {
    const start = this.i;
    this.i++;
    while (this.i < this.s.length && this.s[this.i] !== '"') {
      if (this.s[this.i] === '\\') this.i++;
      else if (this.s.charCodeAt(this.i) < 0x20) this.fail('control character inside a string');
      this.i++;
    }
    if (this.i >= this.s.length) this.fail('unterminated string');
    this.i++;
    try {
      return JSON.parse(this.s.slice(start, this.i)) as string;
    } catch {
      this.i = start;
      return this.fail('invalid escape sequence in a string');
    }
  }
  object(pointer: string): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') return void this.i++;
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a double-quoted property name');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':' after a property name");
      this.i++;
      this.value(`${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === '}') return void this.i++;
      this.fail("expected ',' or '}' in an object");
    }
  }
  array(pointer: string): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') return void this.i++;
    for (let n = 0; ; n++) {
      this.value(`${pointer}/${n}`);
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === ']') return void this.i++;
      this.fail("expected ',' or ']' in an array");
    }
  }
}

/** Where the first syntax error is, with a reason; undefined when the text is valid JSON. */
export function locateSyntaxError(text: string): { position: TextPosition; reason: string } | undefined {
  const w = new Walker(text);
  try {
    w.value('');
    w.ws();
    if (w.i < text.length) w.fail('unexpected text after the JSON value');
    return undefined;
  } catch (e) {
    const offset = (e as { offset?: number }).offset ?? 0;
    return { position: positionAt(text, offset), reason: (e as Error).message };
  }
}

/** Line and column of the value a JSON pointer names (or of its nearest existing parent). */
export function locatePointer(text: string, pointer: string): TextPosition | undefined {
  const w = new Walker(text);
  try {
    w.value('');
  } catch {
    return undefined;
  }
  let p = pointer;
  for (;;) {
    const offset = w.offsets.get(p);
    if (offset !== undefined) return positionAt(text, offset);
    if (p === '') return undefined;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

/** "at /components/3/purl (line 41, column 17)" */
export function describeLocation(text: string, pointer: string): string {
  const pos = locatePointer(text, pointer);
  const at = pointer === '' ? 'at the document root' : `at ${pointer}`;
  return pos ? `${at} (line ${pos.line}, column ${pos.column})` : at;
}

export type ParsedJson = { ok: true; value: unknown } | { ok: false; where: string; reason: string };

export function parseJsonLocated(text: string): ParsedJson {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const loc = locateSyntaxError(text);
    if (!loc) return { ok: false, where: 'in the text', reason: (e as Error).message };
    return {
      ok: false,
      where: `at line ${loc.position.line}, column ${loc.position.column}`,
      reason: loc.reason,
    };
  }
}

/**
 * Where a JSON text first nests deeper than `maxDepth` arrays and objects, or undefined. Checked
 * before parsing: schema validation and the importers walk the tree recursively, and a
 * document nested thousands deep would end them with a stack overflow rather than a refusal.
 */
export function excessNesting(text: string, maxDepth: number): TextPosition | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return positionAt(text, i);
    } else if (c === 93 || c === 125) depth--;
  }
  return undefined;
}
