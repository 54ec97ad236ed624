/**
 * Validation during training: the mean cross-entropy per target token (and perplexity) on held-out pairs,
 * and, when the validation text and a tokenizer are given, corpus BLEU and chrF of the model's translations
 * of a subset (greedy by default). Runs in eval mode without gradients; the caller restores the mode.
 */
import type { Batcher } from '../data/batcher';
import { isPairSource, type PairSource, type TokenPair } from '../data/pair-source';
import type { LanguageRef } from '../data/languages';
import type { Tokenizer } from '../data/tokenizer';
import { evaluateTranslation } from '../eval/evaluate';
import { crossEntropy } from '../loss/cross-entropy';
import type { Seq2Seq } from '../models/seq2seq';
import { noGrad } from '../tensor';

/** What to validate on. */
export interface ValidationData {
  /** Tokenized held-out pairs (in memory, or a PairSource such as a token store's), for loss and perplexity. */
  pairs: TokenPair[] | PairSource;
  /** Source and reference text of held-out sentences, for BLEU/chrF (needs `tokenizer`). */
  sources?: string[];
  /** The reference translation of each source. */
  references?: string[];
  /** Encodes `sources` and decodes the hypotheses. */
  tokenizer?: Tokenizer;
  /** The sources' language (a code such as 'en', or the model's id): XLM's tokenizer needs the code. */
  srcLang?: LanguageRef;
  /** The references' language. */
  tgtLang?: LanguageRef;
  /** Sentences decoded for BLEU/chrF (default 200: the first ones). */
  maxSentences?: number;
  /** Beam size for the BLEU decode (default 1: greedy). */
  beamSize?: number;
}

/** The scores of one validation. */
export interface ValidationResult {
  /** Mean cross-entropy per target token. */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Corpus BLEU of the decoded sentences (when text and a tokenizer were given). */
  bleu?: number;
  /** Corpus chrF of the decoded sentences. */
  chrf?: number;
}

/** Checks the validation options once, before training starts. */
export function checkValidationData(v: ValidationData): void {
  const n = !v ? 0 : Array.isArray(v.pairs) ? v.pairs.length : isPairSource(v.pairs) ? v.pairs.size : 0;
  if (n === 0) throw new TypeError("valid: 'pairs' must be a non-empty array of token pairs or PairSource");
  const text = v.sources !== undefined || v.references !== undefined;
  if (text) {
    if (!Array.isArray(v.sources) || !Array.isArray(v.references) || v.sources.length !== v.references.length || v.sources.length === 0) {
      throw new TypeError("valid: 'sources' and 'references' must be non-empty string arrays of the same length");
    }
    if (v.tokenizer === null || typeof v.tokenizer !== 'object' || typeof v.tokenizer.encodeAsync !== 'function') {
      throw new TypeError("valid: BLEU needs 'tokenizer' (a Tokenizer) beside 'sources'");
    }
  }
}

/**
 * BLEU and chrF of the model's translations of the validation subset, decoded as validation decodes it (the same
 * sentences, beam and languages), or undefined without the text and a tokenizer: how a teacher is scored on a
 * student's validation set.
 */
export async function validationScores(model: Seq2Seq, data: ValidationData): Promise<{ bleu: number; chrf: number } | undefined> {
  if (!data.sources || !data.references || !data.tokenizer) return undefined;
  model.eval();
  const n = Math.min(data.maxSentences ?? 200, data.sources.length);
  const scores = await evaluateTranslation(model, {
    sources: data.sources.slice(0, n),
    references: data.references.slice(0, n),
    tokenizer: data.tokenizer,
    srcLang: data.srcLang,
    tgtLang: data.tgtLang,
    beamSize: data.beamSize ?? 1,
  });
  return { bleu: scores.bleu, chrf: scores.chrf };
}

/** Loss and perplexity of the held-out pairs, and BLEU/chrF of the text when given ({@link validationScores}). */
export async function validate(model: Seq2Seq, data: ValidationData, batcher: Batcher): Promise<ValidationResult> {
  model.eval();
  let sum = 0;
  let tokens = 0;
  for (const plan of batcher.plan(0)) {
    const batch = batcher.toBatch(plan);
    try {
      sum += noGrad(() => {
        const logits = model.forward(batch);
        // Plain cross-entropy (no smoothing): its exponential is the perplexity.
        const r = crossEntropy(logits, batch.tgtOut, { reduction: 'sum', ignoreIndex: model.padIndex, labelSmoothing: 0 });
        const v = Number(r.loss.item());
        for (const t of [logits, r.loss, r.kd, r.ce]) t.dispose();
        return v;
      });
      for (const i of plan.view) tokens += batcher.targetTokens(i);
    } finally {
      batch.dispose();
    }
  }
  const loss = sum / Math.max(tokens, 1);
  const result: ValidationResult = { loss, perplexity: Math.exp(loss) };
  Object.assign(result, await validationScores(model, data));
  return result;
}
