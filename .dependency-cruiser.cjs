// The layer order of lib/, enforced by dependency-cruiser in `npm test` (npm run check:layers): a folder may
// import only the folders below it, so an import that points up the stack (a back-edge) fails the tests and CI.
// docs/architecture.md ("Layout") draws the same stack.
//
//   cli, index                                   the command line and the package's public surface
//   pipeline | serve                             data -> tokenizer -> teacher -> student -> distil -> report;
//                                                the translation service over HTTP
//   train                                        the trainer, distillation, checkpoints, metrics
//   eval                                         BLEU, chrF, evaluating and comparing models (decodes them)
//   surgery | decode                             layer surgery; beam search, greedy, translate
//   models                                       the Seq2Seq models
//   loss | distributed                           the fused loss; process groups
//   data                                         corpora, tokenizer, batches, shortlists (built from a corpus)
//   io                                           safetensors, atomic writes, charts
//   tensor                                       the Tensor API
//   native | common                              the raw binding; option reading shared by every resolver
'use strict';

const LAYERS = [
  ['native', 'common'],
  ['tensor'],
  ['io'],
  ['data'],
  ['loss', 'distributed'],
  ['models'],
  ['surgery', 'decode'],
  ['eval'],
  ['train'],
  ['pipeline', 'serve'],
  ['cli'],
];

// Each folder's forbidden targets: every folder of its own layer but itself, and every folder above it.
const forbidden = LAYERS.flatMap((layer, i) =>
  layer.map((folder) => {
    const higher = [...layer.filter((f) => f !== folder), ...LAYERS.slice(i + 1).flat()];
    return {
      name: `layer-${folder}`,
      comment: `lib/${folder} may import only the layers below it (.dependency-cruiser.cjs), not ${higher.join(', ')}`,
      severity: 'error',
      from: { path: `^lib/${folder}/` },
      to: { path: `^lib/(${higher.join('|')})/` },
    };
  })
);

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: 'no-circular',
      comment: 'a cycle between modules makes their load order matter',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    {
      name: 'native-only-in-lib-native',
      comment: 'only lib/native loads the addon (lib/native/load.ts); everything else uses the typed wrappers',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/native/' },
      to: { path: '\\.node$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
