// The lesson setup — which panel is open, the model preset, TinyWorld's seed and the
// hyperparameters — kept in the page's URL (`?panel=ppo&preset=micro&seed=3&klCoef=0`), so a link
// reproduces a demo; links with PPO's old names (`beta`, `clip`, `ppoBatch`) still load
// (migrateLessonQuery). Only values that differ from the defaults are written; invalid values in a
// URL are ignored. parseLesson and lessonSearch are pure so they can be tested without a page.
import { create } from 'zustand';
import { LEGACY_LESSON_KEYS, migrateLessonQuery } from '../data/legacy-names.ts';
import {
  DEFAULT_HYPERPARAMETERS,
  HYPERPARAMETER_SPECS,
  parseHyperparameter,
  type HyperparameterName,
  type Hyperparameters,
} from './hyperparameters.ts';

export type PanelId = 'model' | 'demonstrations' | 'rank' | 'reward-model' | 'ppo' | 'evaluate' | 'data';

/** The panels in pipeline order, with the names shown as tabs and headings. */
export const PANELS: readonly { id: PanelId; title: string }[] = [
  { id: 'model', title: 'Model' },
  { id: 'demonstrations', title: 'Demonstrations' },
  { id: 'rank', title: 'Rank' },
  { id: 'reward-model', title: 'Reward model' },
  { id: 'ppo', title: 'PPO' },
  { id: 'evaluate', title: 'Evaluate' },
  { id: 'data', title: 'Data' },
];

export type Preset = 'small' | 'micro';
export const PRESETS: readonly Preset[] = ['small', 'micro'];

export interface LessonSetup {
  panel: PanelId;
  preset: Preset;
  /** TinyWorld seed: which prompts, starter demonstrations and simulated labels the lesson uses. */
  seed: number;
  hyper: Hyperparameters;
}

/** The shipped base model was trained on the world of seed 1. */
export const DEFAULT_LESSON: LessonSetup = { panel: 'model', preset: 'small', seed: 1, hyper: DEFAULT_HYPERPARAMETERS };

const HYPERPARAMETER_NAMES = Object.keys(HYPERPARAMETER_SPECS) as HyperparameterName[];
const LESSON_KEYS = ['panel', 'preset', 'seed', ...HYPERPARAMETER_NAMES, ...Object.keys(LEGACY_LESSON_KEYS)];
const MAX_SEED = 2 ** 31 - 1;

/** Where the app serves a preset's base model: public/models/base (small) or public/models/micro. */
export function presetModelUrl(preset: Preset): string {
  return `${import.meta.env.BASE_URL}models/${preset === 'small' ? 'base' : 'micro'}/`;
}

function parseSeed(text: string): number | undefined {
  const seed = Number(text);
  return text.trim() !== '' && Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED ? seed : undefined;
}

function isPanel(text: string | null): text is PanelId {
  return PANELS.some((panel) => panel.id === text);
}

function isPreset(text: string | null): text is Preset {
  return PRESETS.includes(text as Preset);
}

/** The lesson a query string describes; missing or invalid values take their defaults. */
export function parseLesson(search: string): LessonSetup {
  const params = migrateLessonQuery(search);
  const panel = params.get('panel');
  const preset = params.get('preset');
  const hyper = { ...DEFAULT_HYPERPARAMETERS };
  for (const name of HYPERPARAMETER_NAMES) {
    const text = params.get(name);
    const value = text === null ? undefined : parseHyperparameter(name, text);
    if (value !== undefined) hyper[name] = value;
  }
  return {
    panel: isPanel(panel) ? panel : DEFAULT_LESSON.panel,
    preset: isPreset(preset) ? preset : DEFAULT_LESSON.preset,
    seed: parseSeed(params.get('seed') ?? '') ?? DEFAULT_LESSON.seed,
    hyper,
  };
}

/**
 * The query string for a lesson ('' or '?…'): its non-default values in a fixed order, after any
 * parameters of `previous` the lesson does not own.
 */
export function lessonSearch(lesson: LessonSetup, previous = ''): string {
  const params = new URLSearchParams(previous);
  for (const key of LESSON_KEYS) params.delete(key);
  if (lesson.panel !== DEFAULT_LESSON.panel) params.set('panel', lesson.panel);
  if (lesson.preset !== DEFAULT_LESSON.preset) params.set('preset', lesson.preset);
  if (lesson.seed !== DEFAULT_LESSON.seed) params.set('seed', String(lesson.seed));
  for (const name of HYPERPARAMETER_NAMES) {
    if (lesson.hyper[name] !== DEFAULT_HYPERPARAMETERS[name]) params.set(name, String(lesson.hyper[name]));
  }
  const search = params.toString();
  return search === '' ? '' : `?${search}`;
}

interface LessonState extends LessonSetup {
  setPanel(panel: PanelId): void;
  setPreset(preset: Preset): void;
  /** Ignored unless a whole number in 0..2³¹−1. */
  setSeed(seed: number): void;
  /** Ignored unless valid for the hyperparameter (see HYPERPARAMETER_SPECS). */
  setHyper(name: HyperparameterName, value: number): void;
}

const hasLocation = () => typeof window !== 'undefined' && typeof window.location !== 'undefined';

function writeUrl(lesson: LessonSetup): void {
  if (!hasLocation()) return;
  const search = lessonSearch(lesson, window.location.search);
  if (search === window.location.search) return;
  window.history.replaceState(window.history.state, '', `${window.location.pathname}${search}${window.location.hash}`);
}

export const useLessonStore = create<LessonState>((set, get) => {
  const update = (change: Partial<LessonSetup>) => {
    set(change);
    writeUrl(get());
  };
  return {
    ...(hasLocation() ? parseLesson(window.location.search) : DEFAULT_LESSON),
    setPanel: (panel) => update({ panel }),
    setPreset: (preset) => update({ preset }),
    setSeed(seed) {
      if (parseSeed(String(seed)) !== undefined) update({ seed });
    },
    setHyper(name, value) {
      if (parseHyperparameter(name, String(value)) !== undefined) update({ hyper: { ...get().hyper, [name]: value } });
    },
  };
});

export const selectPanel = (state: LessonState) => state.panel;
export const selectPreset = (state: LessonState) => state.preset;
export const selectSeed = (state: LessonState) => state.seed;
export const selectHyper = (state: LessonState) => state.hyper;
