// Tests for the byte-level BPE tokenizer: the GPT-2 byte map and pre-tokenizer, a hand-worked
// training example, round-trips of arbitrary well-formed Unicode, special tokens, determinism,
// tokenizer.json save/load (with ids checked against the Hugging Face `tokenizers` library) and the
// errors of malformed tokenizer.json files.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../../src/model/random.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { BYTE_SYMBOLS, ENDOFTEXT, Tokenizer, pretokenize } from '../../../src/model/tokenizer.ts';

const ENGLISH = `Once upon a time there was a little dog named Pip. Pip lived in a small red house near the
river. Every morning the dog ran to the river and looked at the water. "What do you see?" asked the cat.
"I see fish," said Pip. "They are quick and silver, and they never stop moving." The cat did not like
water, so she stayed on the warm stones and watched the birds. In the evening the children came home from
school. They played with Pip in the garden until the sun went down, and then they all went inside to eat.
Q: What colour is the sky? A: The sky is blue on a clear day. Q: How many legs does a spider have?
A: A spider has eight legs. It's a fact that spiders aren't insects; they're arachnids, and we've seen
1,024 of them since 2019!`;

const tokenizer = trainBpe([ENGLISH], 400);

/** The parts of a tokenizer.json the error tests edit. */
interface TokenizerFile {
  added_tokens: Array<{ id: number; special: boolean }>;
  normalizer: unknown;
  pre_tokenizer: { type: string; add_prefix_space?: boolean };
  model: {
    type: string;
    vocab: Record<string, number>;
    merges: unknown[];
    continuing_subword_prefix: string | null;
    ignore_merges: boolean;
  };
}

/** True when the string has no lone surrogate (the strings UTF-8, and so encode→decode, can carry). */
function isWellFormed(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}

describe('GPT-2 byte map and pre-tokenizer', () => {
  it('maps the 256 bytes to distinct single characters, printable ones to themselves', () => {
    expect(new Set(BYTE_SYMBOLS).size).toBe(256);
    expect(BYTE_SYMBOLS.every((symbol) => symbol.length === 1)).toBe(true);
    expect(BYTE_SYMBOLS[0x61]).toBe('a');
    expect(BYTE_SYMBOLS[0x20]).toBe('Ġ');
    expect(BYTE_SYMBOLS[0x0a]).toBe('Ċ');
    expect(BYTE_SYMBOLS[0x00]).toBe('Ā');
    expect(BYTE_SYMBOLS[0xad]).toBe('Ń');
  });

  it('splits like GPT-2: contractions, letters and digits with one leading space, whitespace runs', () => {
    expect(pretokenize("Hello world's  end\n")).toEqual(['Hello', ' world', "'s", ' ', ' end', '\n']);
    expect(pretokenize('x=42;  y')).toEqual(['x', '=', '42', ';', ' ', ' y']);
    expect(pretokenize("they're")).toEqual(['they', "'re"]);
  });

  it('uses Unicode White_Space like the tokenizers library: U+FEFF is not whitespace', () => {
    expect(pretokenize('a \uFEFFb')).toEqual(['a', ' \uFEFF', 'b']);
  });

  it('covers every character: the pieces join back to the text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => pretokenize(text).join('') === text));
  });
});

describe('trainBpe', () => {
  it('learns the hand-worked merges of "aaabdaaabac"', () => {
    // Pairs: aa ×4 → merge a+a. Then [aa a b d aa a b a c]: aa+a and a+b tie at 2; "a" sorts before
    // "aa", so a+b. Then [aa ab d aa ab a c]: aa+ab ×2.
    const tok = trainBpe(['aaabdaaabac'], 256 + 3 + 1);
    expect(tok.merges).toEqual([
      ['a', 'a'],
      ['a', 'b'],
      ['aa', 'ab'],
    ]);
    expect([256, 257, 258].map((id) => tok.idToToken(id))).toEqual(['aa', 'ab', 'aaab']);
    expect(tok.encode('aaabdaaabac')).toEqual([258, 0x64, 258, 0x61, 0x63]);
  });

  it('breaks ties by the bytes of the left token, then of the right token', () => {
    expect(trainBpe(['ba', 'ab'], 258).merges).toEqual([['a', 'b']]);
    expect(trainBpe(['ac', 'ab'], 258).merges).toEqual([['a', 'b']]);
  });

  it('puts byte b at id b and the special tokens last, <|endoftext|> as eosId', () => {
    expect(tokenizer.vocabSize).toBe(400);
    expect(tokenizer.eosId).toBe(399);
    expect(tokenizer.idToToken(399)).toBe(ENDOFTEXT);
    expect(tokenizer.tokenToId('a')).toBe(0x61);
    expect(tokenizer.tokenToId('Ġ')).toBe(0x20);
    const tok = trainBpe([ENGLISH], 300, ['<|pad|>', ENDOFTEXT]);
    expect([tok.tokenToId('<|pad|>'), tok.tokenToId(ENDOFTEXT), tok.eosId]).toEqual([298, 299, 299]);
  });

  it('is deterministic and independent of the order of the texts', () => {
    const texts = ENGLISH.split('\n');
    const first = trainBpe(texts, 350).toJSON();
    expect(trainBpe(texts, 350).toJSON()).toBe(first);
    expect(trainBpe([...texts].reverse(), 350).toJSON()).toBe(first);
  });

  it('never merges across or into a special token', () => {
    const tok = trainBpe([`ab${ENDOFTEXT}ab${ENDOFTEXT}ab${ENDOFTEXT}`], 300);
    expect(tok.merges).toEqual([['a', 'b']]);
  });

  it('stops early when no pair is left to merge', () => {
    const tok = trainBpe(['abc'], 1000);
    expect(tok.vocabSize).toBe(256 + 2 + 1);
  });

  it('rejects a vocab size too small for bytes and special tokens', () => {
    expect(() => trainBpe([ENGLISH], 256)).toThrow(/vocabSize must be an integer from 257/);
    expect(() => trainBpe([ENGLISH], 300, [])).toThrow(/at least one special token/);
  });

  it('trains a full 1024-token vocabulary on about a megabyte of text', () => {
    const rng = new Rng(7);
    const letters = 'etaoinshrdlucmfwypvbgkjqxz';
    const words: string[] = [];
    for (let bytes = 0; bytes < 1_000_000; bytes += words[words.length - 1].length + 1) {
      const length = 1 + Math.floor(rng.uniform() * 8);
      let word = '';
      for (let i = 0; i < length; i++) word += letters[Math.floor(rng.uniform() ** 2 * letters.length)];
      words.push(word);
    }
    const tok = trainBpe([words.join(' ')], 1024);
    expect(tok.vocabSize).toBe(1024);
  });
});

describe('Tokenizer.encode / decode', () => {
  it('round-trips a leading byte-order mark (U+FEFF), which a default TextDecoder drops', () => {
    for (const text of ['\uFEFF', '\uFEFFhello', 'a\uFEFF', '\uFEFF\uFEFFx'])
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('round-trips arbitrary well-formed Unicode (graphemes, any code point)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 60 }),
        (text) => tokenizer.decode(tokenizer.encode(text)) === text,
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 60 }).filter(isWellFormed),
        (text) => tokenizer.decode(tokenizer.encode(text)) === text,
      ),
      { numRuns: 500 },
    );
  });

  it('round-trips the training text in fewer tokens than bytes', () => {
    const ids = tokenizer.encode(ENGLISH);
    expect(tokenizer.decode(ids)).toBe(ENGLISH);
    expect(ids.length).toBeLessThan(new TextEncoder().encode(ENGLISH).length / 2);
    expect(ids.every((id) => id >= 0 && id < tokenizer.vocabSize)).toBe(true);
  });

  it('turns a lone surrogate into U+FFFD, since UTF-8 cannot carry it', () => {
    expect(tokenizer.decode(tokenizer.encode('a\uD800b'))).toBe('a\uFFFDb');
  });

  it('decodes typed arrays and refuses ids outside the vocab', () => {
    expect(tokenizer.decode(Int32Array.from(tokenizer.encode('the dog')))).toBe('the dog');
    expect(() => tokenizer.decode([400])).toThrow(RangeError);
    expect(() => tokenizer.decode([-1])).toThrow(/not in the vocab/);
  });

  it('reads special tokens in the text as single ids', () => {
    const ids = tokenizer.encode(`the dog${ENDOFTEXT}${ENDOFTEXT} the cat`);
    expect(ids.filter((id) => id === tokenizer.eosId)).toHaveLength(2);
    expect(ids.slice(0, ids.indexOf(tokenizer.eosId))).toEqual(tokenizer.encode('the dog'));
    expect(ids.slice(ids.lastIndexOf(tokenizer.eosId) + 1)).toEqual(tokenizer.encode(' the cat'));
    expect(tokenizer.decode(ids)).toBe(`the dog${ENDOFTEXT}${ENDOFTEXT} the cat`);
    expect(tokenizer.encode('<|endoftext|')).not.toContain(tokenizer.eosId);
  });

  it('prefers the longest special token where two could match', () => {
    const tok = trainBpe([ENGLISH], 300, ['<s>', '<s>>']);
    const ids = tok.encode('a<s>>b<s>c');
    expect(ids).toEqual([0x61, tok.tokenToId('<s>>'), 0x62, tok.tokenToId('<s>'), 0x63]);
  });

  it('round-trips random mixes of text and special tokens', () => {
    const piece = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constant(ENDOFTEXT));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const text = pieces.join('');
        return tokenizer.decode(tokenizer.encode(text)) === text;
      }),
    );
  });
});

describe('tokenizer.json', () => {
  const json = tokenizer.toJSON();
  const parsed = JSON.parse(json);

  it('has the Hugging Face layout: ByteLevel pipeline, BPE model, "left right" merges', () => {
    expect(parsed.version).toBe('1.0');
    expect(parsed.normalizer).toBeNull();
    expect(parsed.added_tokens).toEqual([
      {
        id: 399,
        content: ENDOFTEXT,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ]);
    expect(parsed.pre_tokenizer).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    expect(parsed.decoder.type).toBe('ByteLevel');
    expect(parsed.post_processor.type).toBe('ByteLevel');
    expect(parsed.model).toMatchObject({
      type: 'BPE',
      dropout: null,
      unk_token: null,
      fuse_unk: false,
      byte_fallback: false,
    });
    expect(Object.keys(parsed.model.vocab)).toHaveLength(400);
    expect(parsed.model.vocab[ENDOFTEXT]).toBe(399);
    expect(parsed.model.merges.length).toBe(tokenizer.merges.length);
    expect(parsed.model.merges[0]).toBe(tokenizer.merges[0].join(' '));
  });

  it('lists the vocab in id order', () => {
    expect(Object.entries(parsed.model.vocab).length).toBe(400);
    const vocabText = json.slice(json.indexOf('"vocab": {'), json.indexOf('"merges": ['));
    const idsInTextOrder = [...vocabText.matchAll(/^ {6}".*": (\d+),?$/gm)].map((match) => Number(match[1]));
    expect(idsInTextOrder).toEqual(Array.from({ length: 400 }, (_, id) => id));
  });

  it('loads back to the same tokenizer: same text, same encodings', () => {
    const loaded = Tokenizer.fromJSON(json);
    expect(loaded.toJSON()).toBe(json);
    expect(loaded.eosId).toBe(tokenizer.eosId);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        expect(loaded.encode(text)).toEqual(tokenizer.encode(text));
      }),
    );
  });

  it('also reads merges written as [left, right] pairs (tokenizers 0.20+)', () => {
    const pairs = {
      ...parsed,
      model: { ...parsed.model, merges: parsed.model.merges.map((m: string) => m.split(' ')) },
    };
    expect(Tokenizer.fromJSON(JSON.stringify(pairs)).toJSON()).toBe(json);
  });

  it('encodes as the Hugging Face tokenizers library (0.23) does with the same file', () => {
    for (const [text, ids] of HF_ENCODINGS) expect(tokenizer.encode(text)).toEqual(ids);
  });
});

describe('Tokenizer.fromJSON errors', () => {
  const good = JSON.parse(trainBpe(['aaabdaaabac'], 260).toJSON()) as TokenizerFile;
  const load =
    (edit: (file: TokenizerFile) => void): (() => Tokenizer) =>
    () => {
      const file = structuredClone(good);
      edit(file);
      return Tokenizer.fromJSON(JSON.stringify(file));
    };

  it('names what is wrong', () => {
    expect(() => Tokenizer.fromJSON('{"model": ')).toThrow(/not valid JSON/);
    expect(() => Tokenizer.fromJSON('[1, 2]')).toThrow(/must hold a JSON object/);
    expect(load((f) => delete (f as Partial<TokenizerFile>).model)).toThrow(/no "model" object/);
    expect(load((f) => (f.model.type = 'WordPiece'))).toThrow(/model.type is "WordPiece"; only "BPE"/);
    expect(load((f) => f.model.merges.push('a zz'))).toThrow(/merge #3 "a zz" references unknown token "zz"/);
    expect(load((f) => f.model.merges.push('b d'))).toThrow(/produces "bd", which is not in the vocab/);
    expect(load((f) => f.model.merges.push('a'))).toThrow(/merges\[3\] is "a"; expected "left right"/);
    expect(load((f) => f.model.merges.push('a a'))).toThrow(/listed twice/);
    expect(load((f) => (f.model.vocab.aa = 300))).toThrow(/not contiguous: id 256 is missing/);
    expect(load((f) => (f.model.vocab.aa = 257))).toThrow(/gives id 257 to both/);
    expect(load((f) => (f.model.vocab.x = -1))).toThrow(/ids must be non-negative integers/);
    expect(load((f) => (f.model.vocab['☃'] = 260))).toThrow(/"☃" \(id 260\) is not a byte-level token/);
    expect(load((f) => (f.added_tokens[0].special = false))).toThrow(/is not special/);
    expect(load((f) => (f.added_tokens = []))).toThrow(/at least one special token/);
    expect(load((f) => f.added_tokens.push(f.added_tokens[0]))).toThrow(/special tokens must be distinct/);
    expect(load((f) => (f.normalizer = { type: 'NFC' }))).toThrow(/normalizer must be null/);
    expect(load((f) => (f.pre_tokenizer = { type: 'Whitespace' }))).toThrow(/pre_tokenizer must be/);
    expect(load((f) => (f.pre_tokenizer.add_prefix_space = true))).toThrow(/add_prefix_space must be false/);
    expect(load((f) => (f.model.continuing_subword_prefix = '##'))).toThrow(/continuing_subword_prefix is "##"/);
    expect(load((f) => (f.model.ignore_merges = true))).toThrow(/ignore_merges is true/);
  });

  it('requires every byte to have a token', () => {
    // Drop byte 0x00's token and give its id to the end-of-text token, so ids stay contiguous.
    const missingByte = load((f) => {
      delete f.model.vocab[BYTE_SYMBOLS[0]];
      f.model.vocab[ENDOFTEXT] = 0;
      f.added_tokens[0].id = 0;
    });
    expect(missingByte).toThrow(/missing the token "Ā" of byte 0x00/);
  });
});

/** Hugging Face `tokenizers` 0.23.2 ids for the tokenizer trained above (vocab 400 on ENGLISH). */
// Regenerate with: Tokenizer.from_file(path).encode(text).ids in Python, on the toJSON() of the
// tokenizer trained above.
const HF_ENCODINGS: Array<[string, number[]]> = [
  ['The dog ran to the river.', [281, 312, 288, 329, 323, 260, 288, 333, 46]],
  ['  spaces before and after   ', [32, 292, 328, 332, 307, 101, 102, 111, 338, 272, 258, 102, 116, 261, 32, 32, 32]],
  [
    'Q: What colour is the sky?\nA: Blue.',
    [81, 58, 344, 389, 308, 260, 322, 63, 10, 65, 58, 32, 66, 108, 117, 101, 46],
  ],
  [
    'na\u00efve caf\u00e9 \u2014 \u65e5\u672c\u8a9e \ud83d\ude00',
    [
      110, 97, 195, 175, 339, 378, 102, 195, 169, 32, 226, 128, 148, 32, 230, 151, 165, 230, 156, 172, 232, 170, 158,
      32, 240, 159, 152, 128,
    ],
  ],
  [
    "it's they're we've I'll he'd",
    [105, 116, 39, 115, 296, 39, 338, 263, 101, 39, 339, 306, 39, 336, 32, 256, 39, 100],
  ],
  ['the dog<|endoftext|>The cat', [116, 256, 312, 399, 281, 311]],
  ['1,024 and 2019!', [49, 44, 48, 50, 52, 272, 352, 33]],
  [
    'tabs\tand\r\nnewlines \u0085 \ufeff end',
    [
      116, 97, 98, 115, 9, 329, 100, 13, 10, 110, 101, 119, 108, 264, 332, 32, 194, 133, 32, 239, 187, 191, 32, 267,
      100,
    ],
  ],
];
