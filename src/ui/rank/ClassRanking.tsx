// The Rank panel's class section: the teacher makes a ranking pack (the next N prompts to rank with
// K outputs each of the current model), hands it out as a link or a file, adds the students'
// hand-ins (files or text codes), and reads the merge — how many students and rankings, which
// files were refused and why, the students' pairwise agreement matrix and mean against the paper's
// 72.6%, each student's agreement with the class majority and with the simulated labeler — leaves
// out a student whose answers look random, and adds the merged rankings to the lab's rankings for
// the reward model. Student text is untrusted and rendered as text.
import { useState, type ChangeEvent } from 'react';
import {
  MAX_HAND_IN_BYTES,
  MAX_LINK_CODE_CHARS,
  MAX_PACK_BYTES,
  packFile,
  packFileName,
  PAPER_AGREEMENT,
  useClassStore,
  type ClassMerge,
  type RankingPack,
  type Submission,
} from '../../store/classStore.ts';
import { selectPrompts, selectRankings, useLabDataStore, type Generate } from '../../store/labDataStore.ts';
import { selectHyper, selectSeed, useLessonStore } from '../../store/lessonStore.ts';
import { selectActive, useTrainingStore } from '../../store/trainingStore.ts';
import { chosenFileText } from '../../store/chosenFile.ts';
import { downloadBlob } from '../downloadBlob.ts';
import { errorMessage } from '../../store/errorMessage.ts';
import { ErrorLine } from '../ErrorLine.tsx';
import { promptsToRank } from './draft.ts';

const DEFAULT_PACK_PROMPTS = 8;

const percent = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)}%`);

export function ClassRanking({ generate, modelReady }: { generate: Generate; modelReady: boolean }) {
  const pack = useClassStore((state) => state.pack);
  const makePack = useClassStore((state) => state.makePack);
  const prompts = useLabDataStore(selectPrompts);
  const rankings = useLabDataStore(selectRankings);
  const K = useLessonStore(selectHyper).K;
  const seed = useLessonStore(selectSeed);
  const model = useTrainingStore(selectActive);
  const [count, setCount] = useState(DEFAULT_PACK_PROMPTS);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const make = async () => {
    setBusy(true);
    setProblem('');
    try {
      await makePack(promptsToRank(prompts, rankings, new Set(), count), K, model, seed, generate);
    } catch (error) {
      setProblem(`Could not make the pack: ${errorMessage(error)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="class-ranking" aria-labelledby="class-heading">
      <h3 id="class-heading">Rank with a class</h3>
      <p className="muted">
        The paper's comparisons came from 40 labelers. Make a pack of prompts with {K} outputs each of “{model}”:
        students open its link on any device (no model, no WebGPU), rank, and hand back a small file or a text code.
        Merge their rankings here.
      </p>
      <div className="inline-form">
        <label className="field">
          Prompts in the pack
          <input
            type="number"
            min={1}
            max={200}
            value={count}
            onChange={(event) => setCount(Math.min(200, Math.max(1, Math.floor(Number(event.target.value)))))}
          />
        </label>
        <button type="button" onClick={() => void make()} disabled={busy || !modelReady}>
          {busy ? 'Sampling…' : `Make a pack of ${count} prompts × ${K} outputs`}
        </button>
      </div>
      <ErrorLine text={problem} />
      {pack && <PackToHandOut pack={pack} />}
      <MergeHandIns />
    </section>
  );
}

function PackToHandOut({ pack }: { pack: RankingPack }) {
  const link = useClassStore((state) => state.link);
  const [copied, setCopied] = useState(false);
  const K = pack.items[0].responses.length;
  return (
    <div className="pack-share" data-testid="pack-share">
      <p>
        Pack {pack.id}: {pack.items.length} prompts × {K} outputs of “{pack.model}”.
      </p>
      {link ? (
        <div className="inline-form">
          <label className="field wide">
            Link for students
            <input readOnly value={link} data-testid="pack-link" onFocus={(event) => event.target.select()} />
          </label>
          <button
            type="button"
            className="secondary"
            onClick={() =>
              void navigator.clipboard?.writeText(link).then(
                () => setCopied(true),
                () => undefined,
              )
            }
          >
            {copied ? 'Copied' : 'Copy the link'}
          </button>
        </div>
      ) : (
        <p>
          Too big for a link (over {MAX_LINK_CODE_CHARS} characters): hand out the file; students open it at this lab's
          address followed by <code>#pack</code>.
        </p>
      )}
      <button type="button" className="secondary" onClick={() => downloadBlob(packFileName(pack), packFile(pack))}>
        Download {packFileName(pack)}
      </button>
    </div>
  );
}

function MergeHandIns() {
  const pack = useClassStore((state) => state.pack);
  const submissions = useClassStore((state) => state.submissions);
  const merge = useClassStore((state) => state.merge);
  const openPack = useClassStore((state) => state.openPack);
  const addSubmissions = useClassStore((state) => state.addSubmissions);
  const [codes, setCodes] = useState('');
  const [problem, setProblem] = useState('');
  const openPackFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    await chosenFileText(file, MAX_PACK_BYTES)
      .then(openPack)
      .then(
        () => setProblem(''),
        (error: unknown) => setProblem(`${file.name} is not a ranking pack: ${errorMessage(error)}`),
      );
  };
  const addFiles = async (event: ChangeEvent<HTMLInputElement>) => {
    const files = [...(event.target.files ?? [])];
    event.target.value = '';
    const submission = (file: File): Promise<Submission> =>
      chosenFileText(file, MAX_HAND_IN_BYTES).then(
        (text) => ({ name: file.name, text }),
        (error: unknown) => ({ name: file.name, unreadable: errorMessage(error) }),
      );
    await addSubmissions(await Promise.all(files.map(submission)));
  };
  const addCodes = async () => {
    const lines = codes
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    await addSubmissions(lines.map((text, i) => ({ name: `code ${submissions.length + i + 1}`, text })));
    setCodes('');
  };
  return (
    <div className="merge-hand-ins">
      <h4>Merge the class's rankings</h4>
      <label className="field wide">
        {pack ? 'Or open another pack file' : 'The pack file the rankings answer'}
        <input
          type="file"
          accept=".json,application/json"
          data-testid="open-pack-file"
          onChange={(event) => void openPackFile(event)}
        />
      </label>
      <ErrorLine text={problem} />
      {pack && (
        <>
          <label className="field wide">
            Students' rankings files
            <input
              type="file"
              multiple
              accept=".json,.txt,application/json,text/plain"
              data-testid="hand-in-files"
              onChange={(event) => void addFiles(event)}
            />
          </label>
          <label className="field wide">
            Or their text codes, one per line
            <textarea rows={3} value={codes} onChange={(event) => setCodes(event.target.value)} />
          </label>
          <button type="button" className="secondary" disabled={codes.trim() === ''} onClick={() => void addCodes()}>
            Add the codes
          </button>
        </>
      )}
      {merge && submissions.length > 0 && <MergeReport merge={merge} />}
    </div>
  );
}

function MergeReport({ merge }: { merge: ClassMerge }) {
  const excluded = useClassStore((state) => state.excluded);
  const setExcluded = useClassStore((state) => state.setExcluded);
  const mergedRankingsJsonl = useClassStore((state) => state.mergedRankingsJsonl);
  const importJsonl = useLabDataStore((state) => state.importJsonl);
  const [addedFrom, setAddedFrom] = useState<ClassMerge>();
  const [notice, setNotice] = useState('');
  const { agreement } = merge;
  const students = merge.submissions.filter((s) => s.status !== 'rejected');
  const rejected = merge.submissions.filter((s) => s.status === 'rejected');
  const figures = new Map(agreement.perLabeler.map((l) => [l.labeler, l]));
  const add = async () => {
    const summary = await importJsonl('rankings', mergedRankingsJsonl());
    setAddedFrom(merge);
    setNotice(
      `Added ${summary.rankings} rankings of ${merge.labelers.length} students to the lab's rankings: the Reward model panel trains on them.`,
    );
  };
  return (
    <div className="merge-report">
      <p data-testid="class-summary">
        {merge.labelers.length} students, {merge.rankings.length} rankings merged.
      </p>
      <p data-testid="class-agreement">
        Students agree on <strong>{percent(agreement.pairwiseMean)}</strong> of the comparisons they both made (the
        paper's labelers: {percent(PAPER_AGREEMENT)}; two simulated labelers on these outputs:{' '}
        {percent(agreement.simulatedPairwise)}).
      </p>
      {rejected.length > 0 && (
        <ul className="rejected-hand-ins" aria-label="Refused hand-ins">
          {rejected.map((s, i) => (
            <li key={i}>
              {s.name}: {s.reason}
            </li>
          ))}
        </ul>
      )}
      {agreement.labelers.length > 1 && (
        <div className="table-scroll">
          <table className="data-table" aria-label="Agreement between students">
            <thead>
              <tr>
                <th />
                {agreement.labelers.map((name) => (
                  <th key={name} scope="col">
                    {name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {agreement.labelers.map((name, a) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  {agreement.matrix[a].map((value, b) => (
                    <td key={b} className="number">
                      {a === b ? '' : percent(value)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="table-scroll">
        <table className="data-table" aria-label="Each student's agreement">
          <thead>
            <tr>
              <th>Student</th>
              <th>Rankings</th>
              <th>With the class majority</th>
              <th>With the simulated labeler</th>
              <th>Merged</th>
            </tr>
          </thead>
          <tbody>
            {students.map((s) => (
              <tr key={s.labeler}>
                <th scope="row">{s.labeler}</th>
                <td className="number">{s.rankings}</td>
                <td className="number">{percent(figures.get(s.labeler!)?.withMajority)}</td>
                <td className="number">{percent(figures.get(s.labeler!)?.withSimulatedLabeler)}</td>
                <td>
                  <input
                    type="checkbox"
                    checked={!excluded.includes(s.labeler!)}
                    aria-label={`Merge ${s.labeler}'s rankings`}
                    onChange={(event) => void setExcluded(s.labeler!, !event.target.checked)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted">
        A student near 50% with the class majority ranks about as a coin would: untick them to leave their rankings out.
      </p>
      <button
        type="button"
        disabled={merge.rankings.length === 0 || addedFrom === merge}
        onClick={() => void add().catch((error: unknown) => setNotice(`Could not add them: ${errorMessage(error)}`))}
      >
        Add {merge.rankings.length} rankings of {merge.labelers.length} students to the lab's rankings
      </button>
      <p role="status" className="ok">
        {notice}
      </p>
    </div>
  );
}
