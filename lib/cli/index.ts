#!/usr/bin/env node
/**
 * The `xlm-kd` command: dispatches to subcommands (lib/cli/<name>.ts) and turns their failures into one
 * line on stderr and an exit code (1 = failed, 2 = bad command line), never a stack trace.
 */
import { runBench } from './bench';
import { runCut } from './cut';
import { runData } from './data';
import { runDemo } from './demo';
import { runDistill } from './distill';
import { runDoctor } from './doctor';
import { runEvaluate } from './evaluate';
import { runImportXlm } from './import-xlm';
import { type CliIO, UsageError } from './io';
import { packageVersion } from './package';
import { runQuantize } from './quantize';
import { runServe } from './serve';
import { runShortlist } from './shortlist';
import { runTokenizer } from './tokenizer';
import { runTrain } from './train';
import { InterruptedRun } from '../pipeline/finish';
import { runTranslate } from './translate';

interface Command {
  summary: string;
  run(args: string[], io: CliIO): Promise<number>;
}

// In the order of the main job.
const commands: Record<string, Command> = {
  demo: { summary: 'the whole job on built-in data: teacher, two distilled students, one comparison table', run: runDemo },
  data: { summary: 'gettext catalogs or parallel files -> a data folder of cleaned train/valid/test splits', run: runData },
  tokenizer: { summary: 'train a SentencePiece tokenizer on a data folder', run: runTokenizer },
  train: { summary: 'train a teacher (XLM transformer) with cross-entropy', run: runTrain },
  cut: { summary: 'layer surgery: a student from chosen teacher layers, to a new model file', run: runCut },
  distill: { summary: 'distil a teacher into a cut, BiGRU or given student (online, offline, sequence KD)', run: runDistill },
  quantize: { summary: 'a model file with int8 decoder layers, for fast decoding', run: runQuantize },
  shortlist: { summary: "a model's vocabulary shortlist from a data folder, for fast decoding", run: runShortlist },
  translate: { summary: 'translate stdin (or a file) line by line with a saved model', run: runTranslate },
  serve: { summary: 'serve saved models as a translation service over HTTP (batching across requests)', run: runServe },
  evaluate: { summary: 'BLEU, chrF, size and speed of one or several models on a test set', run: runEvaluate },
  bench: { summary: 'decoding speed of models by beam and batch size (medians of interleaved rounds)', run: runBench },
  'import-xlm': { summary: 'convert a Facebook XLM checkpoint (.pth) into a teacher file', run: runImportXlm },
  doctor: { summary: 'which LibTorch is found, what the addon was built against, and whether it loads', run: runDoctor },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return (
    'Usage: xlm-kd <command> [options]\n\nCommands:\n' +
    Object.entries(commands)
      .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
      .join('\n') +
    '\n\nRun "xlm-kd <command> --help" for its options.\n'
  );
}

// Errors from lib/ name the function that failed ("loadModel: ..."); that is enough for a CLI user.
function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: CliIO = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`xlm-kd: unknown command '${name}' (commands: ${Object.keys(commands).join(', ')}; see xlm-kd --help)\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof InterruptedRun) {
      io.stderr.write(`xlm-kd ${name}: ${err.message}\n`);
      return 130;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`xlm-kd ${name}: ${err.message} (see xlm-kd ${name} --help)\n`);
      return 2;
    }
    io.stderr.write(`xlm-kd ${name}: ${oneLine(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  // A reader that goes away (xlm-kd ... | head) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`xlm-kd: ${oneLine(err)}\n`);
      process.exitCode = 1;
    }
  );
}
