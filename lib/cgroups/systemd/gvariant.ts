// The GVariant text format, as far as systemd unit properties need it: the values of
// `org.systemd.property.<Name>` annotations ("uint64 123", "'inactive-or-failed'", "true", "[1, 2]",
// "@as []"). Each value comes out with its D-Bus signature. Numbers without a type are int32 (or double with
// a point or an exponent), as in GLib.
import { splitSignature } from './dbus';

export interface Typed {
  sig: string;
  value: unknown;
}

const KEYWORDS: Record<string, string> = {
  boolean: 'b', byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't',
  handle: 'h', double: 'd', string: 's', objectpath: 'o', signature: 'g',
};

const RANGES: Record<string, [bigint, bigint]> = {
  y: [0n, 255n], n: [-32768n, 32767n], q: [0n, 65535n], i: [-(2n ** 31n), 2n ** 31n - 1n], h: [-(2n ** 31n), 2n ** 31n - 1n],
  u: [0n, 2n ** 32n - 1n], x: [-(2n ** 63n), 2n ** 63n - 1n], t: [0n, 2n ** 64n - 1n],
};

export const isInteger = (sig: string) => sig in RANGES;

class Parser {
  private at = 0;
  constructor(private readonly text: string) {}

  fail(why: string): never {
    throw new Error(`${why} at offset ${this.at}`);
  }

  private space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at])) this.at++;
  }

  private peek(): string {
    this.space();
    return this.text[this.at] ?? '';
  }

  done(): void {
    if (this.peek()) this.fail(`unexpected "${this.text.slice(this.at, this.at + 10)}"`);
  }

  /** One value; `want` is the signature the context asks for (an array's element type), if known. */
  value(want?: string): Typed {
    const c = this.peek();
    if (c === '@') {
      this.at++;
      const sig = this.signature();
      return this.value(sig);
    }
    const word = /^[a-z][a-z0-9]*/.exec(this.text.slice(this.at))?.[0];
    if (word && word in KEYWORDS) {
      this.at += word.length;
      return this.value(KEYWORDS[word]);
    }
    if (word === 'true' || word === 'false') {
      this.at += word.length;
      return this.check({ sig: 'b', value: word === 'true' }, want);
    }
    if (c === "'" || c === '"') return this.check({ sig: want === 'o' || want === 'g' ? want : 's', value: this.string() }, want);
    if (c === '[') return this.array(want);
    if (c === '(') return this.tuple(want);
    if (/[-+0-9.]/.test(c)) return this.number(want);
    return this.fail(c ? `unexpected "${c}"` : 'a value is missing');
  }

  private check(v: Typed, want?: string): Typed {
    if (want && want !== v.sig) this.fail(`a ${v.sig} value where ${want} is wanted`);
    return v;
  }

  private signature(): string {
    const start = this.at;
    const one = (): void => {
      const c = this.text[this.at++];
      if (c === 'a') return one();
      if (c === '(') {
        while (this.text[this.at] !== ')') {
          if (this.at >= this.text.length) this.fail('an unterminated tuple type');
          one();
        }
        this.at++;
        return;
      }
      if (!c || !'bynqiuxthdsogv'.includes(c)) this.fail(`"${c ?? ''}" is not a type`);
    };
    one();
    return this.text.slice(start, this.at);
  }

  private string(): string {
    const quote = this.text[this.at++];
    let out = '';
    for (;;) {
      const c = this.text[this.at++];
      if (c === undefined) this.fail('an unterminated string');
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.at++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"' };
      if (e in simple) out += simple[e];
      else if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const hex = this.text.slice(this.at, this.at + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) this.fail('a bad \\u escape');
        out += String.fromCodePoint(parseInt(hex, 16));
        this.at += n;
      } else this.fail(`an unknown escape "\\${e ?? ''}"`);
    }
  }

  private number(want?: string): Typed {
    const m = /^[-+]?(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?|inf|nan)/.exec(this.text.slice(this.at));
    if (!m) this.fail('a bad number');
    this.at += m[0].length;
    const t = m[0];
    const float = !/^[-+]?0x/.test(t) && /[.eE]|inf|nan/.test(t);
    const sig = want ?? (float ? 'd' : 'i');
    if (sig === 'd') return { sig, value: Number(t) };
    if (!isInteger(sig)) this.fail(`a number where ${sig} is wanted`);
    if (float) this.fail(`"${t}" is not an integer`);
    const neg = t.startsWith('-');
    const n = BigInt(t.replace(/^[-+]/, '')) * (neg ? -1n : 1n);
    const [lo, hi] = RANGES[sig];
    if (n < lo || n > hi) this.fail(`${t} is out of range for ${sig}`);
    return { sig, value: sig === 't' || sig === 'x' ? n : Number(n) };
  }

  private array(want?: string): Typed {
    if (want && !want.startsWith('a')) this.fail(`an array where ${want} is wanted`);
    this.at++;
    let elem = want?.slice(1);
    const items: unknown[] = [];
    if (this.peek() === ']') {
      this.at++;
      if (!elem) this.fail('an empty array needs a type ("@as []")');
      return { sig: `a${elem}`, value: items };
    }
    for (;;) {
      const v = this.value(elem);
      elem ??= v.sig;
      items.push(v.value);
      const c = this.peek();
      this.at++;
      if (c === ']') return { sig: `a${elem}`, value: items };
      if (c !== ',') this.fail('"," or "]" expected');
    }
  }

  private tuple(want?: string): Typed {
    if (want && !want.startsWith('(')) this.fail(`a tuple where ${want} is wanted`);
    this.at++;
    const items: unknown[] = [];
    let sig = '';
    const wanted = want ? splitSignature(want.slice(1, -1)) : undefined;
    while (this.peek() !== ')') {
      const v = this.value(wanted?.[items.length]);
      sig += v.sig;
      items.push(v.value);
      if (this.peek() === ',') this.at++;
      else if (this.peek() !== ')') this.fail('"," or ")" expected');
    }
    this.at++;
    return this.check({ sig: `(${sig})`, value: items }, want);
  }
}

/** Parses one value in GVariant text form; throws an Error saying what is wrong and where. */
export function parseGVariant(text: string): Typed {
  const p = new Parser(text);
  const v = p.value();
  p.done();
  return v;
}
