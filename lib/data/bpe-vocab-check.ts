/**
 * Whether BPE codes and a vocabulary belong together: nearly every merge of the codes makes a subword the
 * vocabulary holds when both come from one corpus (99.4 % for the codes and vocabulary learnt on the demo
 * corpus, test/golden/fast-bpe), few when they come from two; so a mixed-up release is caught at import.
 */
import type { XlmTokenizer } from './xlm-tokenizer';

/** Below this share of merges found in the vocabulary the codes and the vocabulary are called unrelated. */
const MIN_SHARE = 0.5;

/**
 * Throws when fewer than half of the codes' merges make a subword of the vocabulary (a merge `a b` makes `ab@@`
 * inside a word, or `ab` at its end when `b` ends with `</w>`), naming both files and the first missing subword.
 */
export function checkCodesMatchVocab(tokenizer: XlmTokenizer, codesName: string, vocabName: string): void {
  const lines = tokenizer.workerSources.codes.text.split('\n');
  let merges = 0;
  let found = 0;
  let firstMissing: string | undefined;
  lines.forEach((line, i) => {
    const f = line.split(' ').filter((x) => x !== '');
    if (f.length !== 3) return;
    merges++;
    const joined = f[0] + f[1];
    const subword = joined.endsWith('</w>') ? joined.slice(0, -4) : `${joined}@@`;
    if (tokenizer.dictionary.id(subword) !== tokenizer.specialIds.unk) found++;
    else firstMissing ??= `line ${i + 1} makes '${subword}'`;
  });
  if (merges > 0 && found / merges < MIN_SHARE) {
    throw new Error(
      `${codesName} and ${vocabName} disagree: only ${((100 * found) / merges).toFixed(1)} % of the ${merges} BPE merges make a subword of the ` +
        `vocabulary (${firstMissing} of ${codesName}, which the vocabulary lacks); give the codes and vocabulary of one release`
    );
  }
}
