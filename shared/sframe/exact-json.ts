// A small JSON parser that keeps integers exact: test vectors carry KIDs and
// CTRs up to 2^64-1, which JSON.parse would round to the nearest double.
// Integers become bigint; numbers with a fraction or exponent stay number.

export type JsonValue = null | boolean | string | number | bigint | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export type JsonResult = { ok: true; value: JsonValue } | { ok: false; error: { code: 'JSON_SYNTAX'; message: string; offset: number } };

class JsonSyntaxError {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function parseJsonExact(text: string): JsonResult {
  const p = new Parser(text);
  try {
    const value = p.value();
    p.ws();
    if (p.i !== text.length) throw new JsonSyntaxError('unexpected text after the JSON value', p.i);
    return { ok: true, value };
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { ok: false, error: { code: 'JSON_SYNTAX', message: e.message, offset: e.offset } };
    throw e;
  }
}

class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i] as string)) this.i++;
  }

  value(): JsonValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    throw new JsonSyntaxError(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`, this.i);
  }

  private expect(c: string): void {
    this.ws();
    if (this.s[this.i] !== c) throw new JsonSyntaxError(`expected ${JSON.stringify(c)}`, this.i);
    this.i++;
  }

  private object(): JsonObject {
    // No prototype: keys like "__proto__" stay plain data.
    const out = Object.create(null) as JsonObject;
    this.expect('{');
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      this.expect(':');
      out[key] = this.value();
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') throw new JsonSyntaxError('expected "," or "}"', this.i - 1);
    }
  }

  private array(): JsonValue[] {
    const out: JsonValue[] = [];
    this.expect('[');
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') throw new JsonSyntaxError('expected "," or "]"', this.i - 1);
    }
  }

  private string(): string {
    if (this.s[this.i] !== '"') throw new JsonSyntaxError('expected a string', this.i);
    this.i++;
    let out = '';
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) throw new JsonSyntaxError('unterminated string', this.i);
      if (c === '"') return out;
      if (c < ' ') throw new JsonSyntaxError('control character in string', this.i - 1);
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      if (e === 'u') {
        const hex = this.s.slice(this.i, this.i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonSyntaxError('bad \\u escape', this.i);
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 4;
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
      } else {
        throw new JsonSyntaxError('bad escape', this.i - 1);
      }
    }
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) throw new JsonSyntaxError('bad number', this.i);
    this.i += m[0].length;
    return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
  }
}
