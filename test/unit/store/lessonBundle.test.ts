// The lesson bundle's zip: a lesson (settings, demonstrations, rankings, runs, a micro checkpoint)
// round-trips bit for bit, also when zipped again inside a folder; a checkpoint downloads as one zip
// named after it and reads back; and each malformed bundle (no zip, no manifest, another version, a
// zip bomb by declared size or entry count, a bad JSONL or run line, invalid UTF-8, a broken
// checkpoint, the shipped base) is refused with the file, what is wrong and what to do — before
// anything inflates.
import { readFileSync } from 'node:fs';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { StoredRun } from '../../../src/data/lab-db.ts';
import {
  buildLessonBundle,
  checkpointZip,
  MAX_BUNDLE_ENTRIES,
  readCheckpointZip,
  readLessonBundle,
  type LessonBundle,
} from '../../../src/store/lessonBundle.ts';
import type { CheckpointFiles } from '../../../src/model/checkpoint.ts';
import { DEFAULT_HYPERPARAMETERS } from '../../../src/store/hyperparameters.ts';
import { parseLesson } from '../../../src/store/lessonStore.ts';

const MICRO = 'public/models/micro/';
const microFiles = (): CheckpointFiles => ({
  'model.safetensors': new Uint8Array(readFileSync(`${MICRO}model.safetensors`)),
  'config.json': readFileSync(`${MICRO}config.json`, 'utf8'),
  'tokenizer.json': readFileSync(`${MICRO}tokenizer.json`, 'utf8'),
  'tokenizer_config.json': readFileSync(`${MICRO}tokenizer_config.json`, 'utf8'),
});

const DEMONSTRATIONS = '{"prompt":"Human: Name a red fruit.\\nAssistant:","completion":" An apple.<|endoftext|>"}\n';
const RANKINGS =
  '{"promptId":"user-1","prompt":"Name a pet.","responses":["A cat.","A rock.","A dog."],"order":[0,2,1],"ties":[[0,1]],"source":"human","likert":[6,1,6]}\n';
const RUN: StoredRun = {
  id: 'run-1',
  kind: 'sft',
  status: 'done',
  startedAt: 10,
  updatedAt: 20,
  settings: { epochs: 2, lr: 0.001, seed: 1 },
  metrics: [
    { step: 1, loss: 4.2, learning_rate: 0.001 },
    { step: 2, loss: 3.9, learning_rate: 0.0005 },
  ],
  samples: [],
  checkpoint: 'sft',
};

function lesson(): LessonBundle {
  return {
    lesson: '?preset=micro&seed=3&klCoef=0',
    demonstrationsJsonl: DEMONSTRATIONS,
    rankingsJsonl: RANKINGS,
    runs: [RUN],
    checkpoints: [{ name: 'sft', files: microFiles() }],
  };
}

/** The bundle's files, changed by `edit`, zipped again. */
function edited(edit: (files: Record<string, Uint8Array>) => void): Uint8Array {
  const files = unzipSync(buildLessonBundle(lesson(), 1));
  edit(files);
  return zipSync(files);
}

const readError = (bytes: Uint8Array) => () => readLessonBundle(bytes, 'lesson.zip');

/** Sets the uncompressed size a zip's central directory declares for its entry `name`. */
function declareSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const copy = zip.slice();
  const view = new DataView(copy.buffer);
  const wanted = strToU8(name);
  for (let at = 0; at + 46 < copy.length; at++) {
    if (view.getUint32(at, true) !== 0x02014b50) continue;
    const nameLength = view.getUint16(at + 28, true);
    const entryName = copy.subarray(at + 46, at + 46 + nameLength);
    if (nameLength === wanted.length && entryName.every((b, i) => b === wanted[i])) {
      view.setUint32(at + 24, size, true);
      return copy;
    }
  }
  throw new Error(`no central-directory entry ${name}`);
}

describe('lesson bundle', () => {
  it('round-trips a lesson: settings, data, runs and a checkpoint, bit for bit', () => {
    const bytes = buildLessonBundle(lesson(), 1234);
    expect(Object.keys(unzipSync(bytes)).sort()).toEqual([
      'checkpoints/sft/config.json',
      'checkpoints/sft/model.safetensors',
      'checkpoints/sft/tokenizer.json',
      'checkpoints/sft/tokenizer_config.json',
      'data/demonstrations.jsonl',
      'data/rankings.jsonl',
      'manifest.json',
      'runs/runs.jsonl',
    ]);
    const manifest = JSON.parse(new TextDecoder().decode(unzipSync(bytes)['manifest.json'])) as unknown;
    expect(manifest).toEqual({
      format: 'rlhf-lab-lesson',
      version: 1,
      createdAt: 1234,
      lesson: '?preset=micro&seed=3&klCoef=0',
      checkpoints: ['sft'],
    });
    expect(readLessonBundle(bytes, 'lesson.zip')).toEqual(lesson());
  });

  it("reads a bundle exported before PPO's settings took one name each, with the same values", () => {
    const oldRun: StoredRun = {
      ...RUN,
      id: 'run-ppo',
      kind: 'ppo',
      settings: { beta: 0.05, clip: 0.3, batch: 4, lr: 3e-5 },
      metrics: [{ iteration: 0, 'objective/kl': 0.1, beta: 0.05 }],
    };
    const old = { ...lesson(), lesson: '?preset=micro&seed=3&beta=0.05&ppoBatch=4', runs: [oldRun] };
    const read = readLessonBundle(buildLessonBundle(old, 1), 'old.zip');
    expect(parseLesson(read.lesson).hyper).toEqual({ ...DEFAULT_HYPERPARAMETERS, klCoef: 0.05, batchSize: 4 });
    expect(read.runs).toEqual([
      {
        ...oldRun,
        settings: { lr: 3e-5, klCoef: 0.05, clipRange: 0.3, batchSize: 4 },
        metrics: [{ iteration: 0, 'objective/kl': 0.1, 'objective/kl_coef': 0.05 }],
      },
    ]);
  });

  it('reads a bundle unzipped and zipped again inside one folder', () => {
    const files = unzipSync(buildLessonBundle(lesson(), 1));
    const nested = zipSync(
      Object.fromEntries(Object.entries(files).map(([name, content]) => [`my lesson/${name}`, content])),
    );
    expect(readLessonBundle(nested, 'lesson.zip')).toEqual(lesson());
  });

  it('keeps a diverged run: a NaN metric comes back left out', () => {
    const diverged: StoredRun = { ...RUN, metrics: [{ step: 1, loss: NaN }] };
    const read = readLessonBundle(buildLessonBundle({ ...lesson(), runs: [diverged] }, 1), 'lesson.zip');
    expect(read.runs[0].metrics).toEqual([{ step: 1 }]);
  });

  it('downloads a checkpoint as one zip holding a folder named after it', () => {
    const zip = unzipSync(checkpointZip('sft', microFiles()));
    expect(Object.keys(zip).sort()).toEqual([
      'sft/config.json',
      'sft/model.safetensors',
      'sft/tokenizer.json',
      'sft/tokenizer_config.json',
    ]);
    expect(zip['sft/model.safetensors']).toEqual(microFiles()['model.safetensors']);
    expect(() => checkpointZip('a/b', microFiles())).toThrow('the checkpoint name "a/b" cannot be a folder in a zip');
  });

  it('reads a checkpoint zip back, checked as a checkpoint import is', () => {
    expect(readCheckpointZip(checkpointZip('sft', microFiles()), 'sft.zip')).toEqual(microFiles());
    const loose = zipSync({
      'config.json': strToU8(microFiles()['config.json']),
      'model.safetensors': microFiles()['model.safetensors'],
    });
    expect(() => readCheckpointZip(loose, 'sft.zip')).toThrow(
      'sft.zip: tokenizer.json is missing: the zip is incomplete; export it again',
    );
    expect(() => readCheckpointZip(zipSync({ 'sft/notes.txt': strToU8('hi') }), 'sft.zip')).toThrow(
      'sft.zip: it has no config.json at its top or in one folder, so it is not a checkpoint',
    );
    const files = unzipSync(checkpointZip('sft', microFiles()));
    files['sft/model.safetensors'] = files['sft/model.safetensors'].subarray(0, 1000);
    expect(() => readCheckpointZip(zipSync(files), 'sft.zip')).toThrow(
      /^sft\.zip: it is not a valid checkpoint: model\.safetensors: /,
    );
  });

  it('never bundles the shipped base, and refuses a bundle that holds one', () => {
    expect(() => buildLessonBundle({ ...lesson(), checkpoints: [{ name: 'base', files: microFiles() }] }, 1)).toThrow(
      '"base" is the shipped base model',
    );
    const withBase = edited((files) => {
      for (const name of Object.keys(files).filter((n) => n.startsWith('checkpoints/sft/')))
        files[name.replace('/sft/', '/base/')] = files[name];
      files['manifest.json'] = strToU8(
        JSON.stringify({ format: 'rlhf-lab-lesson', version: 1, createdAt: 1, lesson: '', checkpoints: ['base'] }),
      );
    });
    expect(readError(withBase)).toThrow(
      'lesson.zip: it holds a checkpoint named "base", the shipped base model, which an import never replaces',
    );
  });

  it('refuses what is not a zip, or a zip that is not a lesson', () => {
    expect(readError(strToU8('{"prompt": "not a zip"}'))).toThrow(
      /^lesson\.zip: it is not a zip file \(.*\): choose the \.zip exported from a lab's Data panel$/,
    );
    expect(readError(zipSync({ 'notes.txt': strToU8('hello') }))).toThrow(
      'lesson.zip: it has no manifest.json, so it is not a lesson bundle',
    );
    const other = edited((files) => {
      files['manifest.json'] = strToU8('{"format": "something-else", "version": 1}');
    });
    expect(readError(other)).toThrow(
      'lesson.zip: manifest.json says format "something-else", not "rlhf-lab-lesson": this zip is not a lesson bundle',
    );
  });

  it('refuses another version, saying which it reads', () => {
    const newer = edited((files) => {
      const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json'])) as Record<string, unknown>;
      files['manifest.json'] = strToU8(JSON.stringify({ ...manifest, version: 2 }));
    });
    expect(readError(newer)).toThrow(
      'lesson.zip: manifest.json says version 2; this lab reads version 1: open the bundle in the version of the lab that made it',
    );
  });

  it('refuses a zip bomb from its declared sizes and entry count, before inflating', () => {
    const bomb = declareSize(buildLessonBundle(lesson(), 1), 'data/rankings.jsonl', 0xfffffff0);
    expect(readError(bomb)).toThrow(
      'lesson.zip: data/rankings.jsonl would inflate to 4096 MiB, over the 64 MiB such a file may have',
    );
    const two = buildLessonBundle(
      {
        ...lesson(),
        checkpoints: [
          { name: 'a', files: microFiles() },
          { name: 'b', files: microFiles() },
        ],
      },
      1,
    );
    const heavy = declareSize(
      declareSize(two, 'checkpoints/a/model.safetensors', 600 * 2 ** 20),
      'checkpoints/b/model.safetensors',
      600 * 2 ** 20,
    );
    expect(readError(heavy)).toThrow(
      /^lesson\.zip: its files would inflate to 1200 MiB, over the 1024 MiB a bundle may hold: export fewer checkpoints$/,
    );
    const many = zipSync(
      Object.fromEntries(Array.from({ length: MAX_BUNDLE_ENTRIES + 1 }, (_, i) => [`f${i}`, new Uint8Array(0)])),
    );
    expect(readError(many)).toThrow(`lesson.zip: it lists more than ${MAX_BUNDLE_ENTRIES} files`);
  });

  it('names the file and line of a bad JSONL or run line, and a file that is not UTF-8', () => {
    const badRanking = edited((files) => {
      files['data/rankings.jsonl'] = strToU8(
        `${RANKINGS}{"prompt":"Name a tree.","responses":["An oak."],"order":[0]}\n`,
      );
    });
    expect(readError(badRanking)).toThrow(
      /^lesson\.zip: data\/rankings\.jsonl: line 2: .*: fix that line, or export the bundle again$/,
    );
    const badRun = edited((files) => {
      files['runs/runs.jsonl'] = strToU8(
        `${JSON.stringify(RUN)}\n${JSON.stringify({ ...RUN, id: 'run-2', kind: 'sft-ish' })}\n`,
      );
    });
    expect(readError(badRun)).toThrow(
      'lesson.zip: runs/runs.jsonl: line 2: "kind" must be one of sft, reward_model, ppo, dpo',
    );
    const latin1 = edited((files) => {
      files['data/demonstrations.jsonl'] = new Uint8Array([
        ...strToU8('{"prompt":"caf'),
        0xe9,
        ...strToU8('","completion":"x"}\n'),
      ]);
    });
    expect(readError(latin1)).toThrow('lesson.zip: data/demonstrations.jsonl: line 1 (byte 14) is not valid UTF-8');
  });

  it('checks each checkpoint as the checkpoint import does, and notices a missing file', () => {
    const broken = edited((files) => {
      const config = JSON.parse(new TextDecoder().decode(files['checkpoints/sft/config.json'])) as Record<
        string,
        unknown
      >;
      files['checkpoints/sft/config.json'] = strToU8(JSON.stringify({ ...config, n_layer: 7 }));
    });
    expect(readError(broken)).toThrow(
      /^lesson\.zip: checkpoint sft \(checkpoints\/sft\/\) is not a valid checkpoint: config\.json: n_layer is 7 but/,
    );
    const incomplete = edited((files) => {
      delete files['checkpoints/sft/tokenizer.json'];
    });
    expect(readError(incomplete)).toThrow(
      'lesson.zip: checkpoints/sft/tokenizer.json is missing: the zip is incomplete; export it again',
    );
  });
});
