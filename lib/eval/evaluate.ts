/**
 * `evaluateTranslation`: translate a test set with a model and score it against the references — corpus BLEU
 * and chrF (sacreBLEU's defaults) and the decoding speed. Used by validation during training and by the
 * quality benchmark, so "how good is this model" is computed one way everywhere.
 */
import { translate, type TranslateOptions } from '../decode/translate';
import type { Seq2Seq } from '../models/seq2seq';
import { bleu } from './bleu';
import { chrf } from './chrf';

/** What to translate and how; `sources`, `references` and `tokenizer` are required. */
export interface EvaluateTranslationOptions extends TranslateOptions {
  /** Source sentences. */
  sources: string[];
  /** One reference translation per source. */
  references: string[];
}

/** Scores and speed of one evaluation. */
export interface TranslationScores {
  /** Corpus BLEU in [0, 100] (sacreBLEU's defaults). */
  bleu: number;
  /** Corpus chrF in [0, 100] (sacreBLEU's defaults). */
  chrf: number;
  /** The model's translations, in source order. */
  hypotheses: string[];
  /** Sentences translated. */
  sentences: number;
  /** Wall-clock seconds of the decode, tokenization included. */
  seconds: number;
  /** `sentences / seconds`. */
  sentencesPerSecond: number;
}

/** Translates `sources` (beam 5 unless `beamSize` says otherwise; 1 = greedy) and scores the output. */
export async function evaluateTranslation(model: Seq2Seq, options: EvaluateTranslationOptions): Promise<TranslationScores> {
  const fn = 'evaluateTranslation';
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: argument 'options' must be an object`);
  const { sources, references, ...decode } = options;
  if (!Array.isArray(sources) || sources.length === 0 || !sources.every((s) => typeof s === 'string')) {
    throw new TypeError(`${fn}: option 'sources' must be a non-empty array of strings`);
  }
  if (!Array.isArray(references) || references.length !== sources.length || !references.every((s) => typeof s === 'string')) {
    throw new TypeError(
      `${fn}: option 'references' must be an array of ${sources.length} strings (one per source), got ${Array.isArray(references) ? references.length : typeof references}`
    );
  }
  const started = process.hrtime.bigint();
  const out = await translate(model, sources, decode);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const hypotheses = out.map((r) => r.text);
  return {
    bleu: bleu(hypotheses, [references]).score,
    chrf: chrf(hypotheses, [references]).score,
    hypotheses,
    sentences: sources.length,
    seconds,
    sentencesPerSecond: sources.length / seconds,
  };
}
