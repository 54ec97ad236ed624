// Decoding and evaluation: token ids through greedy() and beamSearch() (n-best lists with their
// length-normalised scores), sampling, text in / text out with translate(), then evaluateTranslation() on the
// held-out test split (corpus BLEU and chrF as sacreBLEU computes them, and sentences per second) for greedy
// and beam search, and bleu() / chrf() / sentenceBleu() on their own.
//
//   node examples/decode-evaluate.js [--quick] [--teacher FILE [--tokenizer FILE]] [--out DIR] [--threads N]
// (without --teacher a small teacher is trained first; examples/train-teacher.js makes a better one)
'use strict';
const { Batch, greedy, beamSearch, translate, evaluateTranslation, bleu, chrf, sentenceBleu, formatBleu, formatChrf, manualSeed } = require('..');
const { FLAGS, TEACHER_FLAGS, log, fmt, parseArgs, outDir, loadData, getTeacher, run } = require('./common');

const USAGE = `usage: node examples/decode-evaluate.js ${FLAGS} ${TEACHER_FLAGS}`;

run(async () => {
  const args = parseArgs(USAGE);
  const out = outDir(args, 'decode-evaluate');
  log(`output folder: ${out}`);
  const data = await loadData(args, out);
  const { teacher: model } = await getTeacher(args, data, out);
  const { tok } = data;

  // Token ids: a Batch frames the sources (`</s> ids </s>`) and pads them.
  const sentences = data.test.sources.slice(0, 3);
  const references = data.test.references.slice(0, 3);
  const batch = Batch.from({ src: tok.encode(sentences) });

  const g = await greedy(model, batch);
  console.log('\ngreedy(model, batch): one hypothesis per sentence');
  g.forEach(([h], i) =>
    console.log(
      `  ${sentences[i]}\n    -> ${tok.decode(h.tokens)}   [score ${fmt(h.score, 3)}, ${h.tokens.length} pieces]   reference: ${references[i]}`
    )
  );

  const nBest = 3;
  const beams = await beamSearch(model, batch, { beamSize: 5, nBest, lengthPenalty: 1 });
  console.log(`\nbeamSearch(model, batch, { beamSize: 5, nBest: ${nBest} }): the n-best list, best first`);
  beams.forEach((hyps, i) => {
    console.log(`  ${sentences[i]}`);
    hyps.forEach((h, r) =>
      console.log(
        `    ${r + 1}. ${tok.decode(h.tokens)}   [score ${fmt(h.score, 3)}: mean log-prob of its ${h.tokenLogProbs.length} tokens, </s> included]`
      )
    );
  });
  console.log(`  n-best sizes: ${beams.map((h) => h.length).join(', ')}`);

  manualSeed(7);
  const samples = await greedy(model, batch, { sampling: { temperature: 0.8, topK: 20 } });
  console.log('\ngreedy(model, batch, { sampling: { temperature: 0.8, topK: 20 } }): a random draw per sentence');
  samples.forEach(([h], i) => console.log(`  ${sentences[i]} -> ${tok.decode(h.tokens)}`));
  batch.dispose();

  // Text in, text out (tokenizing, length-sorted batches, results in input order).
  const results = await translate(model, ['Open file', 'Save changes?', 'The file could not be found.'], { tokenizer: tok, beamSize: 5, nBest: 2 });
  console.log('\ntranslate(model, sentences, { tokenizer, beamSize: 5, nBest: 2 })');
  for (const r of results) console.log(`  [${r.index}] ${r.text}   (runner-up: ${r.hypotheses[1]?.text ?? '–'})`);

  // The test split, greedy against beam search.
  console.log(`\nevaluateTranslation on the test split (${data.test.sources.length} sentences):`);
  const scores = {};
  for (const beamSize of [1, 5]) {
    const s = await evaluateTranslation(model, { ...data.test, tokenizer: tok, beamSize, batchSize: 32 });
    scores[beamSize] = s;
    console.log(
      `  ${beamSize === 1 ? 'greedy' : `beam ${beamSize}`}: BLEU ${fmt(s.bleu)}  chrF ${fmt(s.chrf)}  ${fmt(s.sentencesPerSecond, 1)} sentences/s (${fmt(s.seconds)} s)`
    );
  }

  // The metrics on their own: corpus scores with sacreBLEU's statistics, and one sentence.
  const hyps = scores[5].hypotheses;
  console.log(`\nbleu(hypotheses, [references]):  ${formatBleu(bleu(hyps, [data.test.references]))}`);
  console.log(`chrf(hypotheses, [references]):  ${formatChrf(chrf(hyps, [data.test.references]))}`);
  const best = hyps.map((h, i) => ({ i, s: sentenceBleu(h, data.test.references[i]).score })).sort((a, b) => b.s - a.s)[0];
  console.log(
    `best sentence: "${data.test.sources[best.i]}" -> "${hyps[best.i]}" (reference "${data.test.references[best.i]}"), sentence BLEU ${fmt(best.s)}`
  );
});
