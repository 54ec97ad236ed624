/**
 * `xlm-kd doctor`: what this installation finds and whether it loads — the LibTorch found (where, how,
 * version, CPU or CUDA), each addon file with what it was built against, the SentencePiece runtime library,
 * and the addon itself loaded with its runtime report. Exit 0 when the addon loads, 1 when it does not.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { addonCandidates, addonRecord, loadedAddonPath, locateLibtorch } from '../native';
import { allocatorInfo, version } from '../tensor/runtime';
import { parseFlags } from './args';
import type { CliIO } from './io';
import { packageRoot, packageVersion } from './package';

const doctorUsage = `Usage: xlm-kd doctor

Reports the LibTorch this installation finds, the addon files and what each was built against, and
whether the addon loads. Exit 0 when it loads, 1 when it does not.
`;

/** Whether the dynamic loader finds a library by name (the way the addon's DT_NEEDED entries are found). */
function libraryLoads(name: string): string {
  try {
    process.dlopen({ exports: {} }, name, os.constants.dlopen.RTLD_LAZY);
    return 'found';
  } catch (err) {
    const msg = (err as Error).message;
    return /did not self-register/.test(msg) ? 'found' : `MISSING (${msg.split('\n')[0]})`;
  }
}

/** Runs `xlm-kd doctor`. */
export async function runDoctor(args: string[], io: CliIO): Promise<number> {
  if (!parseFlags(args, {}, doctorUsage, io)) return 0;
  const out = (line: string) => io.stdout.write(line + '\n');
  out(`xlm-kd-torch ${packageVersion()} at ${packageRoot}`);
  out(`Node ${process.version} (N-API ${process.versions.napi}), ${process.platform}-${process.arch}`);
  const lt = locateLibtorch();
  if ('error' in lt) out(`LibTorch: NOT FOUND: ${lt.error}\n  tried: ${lt.tried.join('\n         ')}\n${lt.howToProvide}`);
  else out(`LibTorch: ${lt.version} (${lt.flavour === 'cuda' ? 'CUDA' : 'CPU'}) at ${lt.root}\n  found through: ${lt.from}`);
  out('Addon files, in the order they are tried:');
  for (const file of addonCandidates()) {
    if (!fs.existsSync(file)) {
      out(`  ${file}: not there`);
      continue;
    }
    const r = addonRecord(file);
    const match =
      !r || 'error' in lt ? '' : r.version === lt.version && r.flavour === lt.flavour ? ', matches' : ', DOES NOT MATCH the LibTorch found';
    out(`  ${file}: built against ${r ? `LibTorch ${r.version} (${r.flavour})` : 'an unrecorded LibTorch'}${match}`);
  }
  out(
    `SentencePiece runtime (libsentencepiece.so.0, libsentencepiece_train.so.0): ${libraryLoads('libsentencepiece.so.0')}, ${libraryLoads('libsentencepiece_train.so.0')}`
  );
  const loaded = loadedAddonPath();
  if (!loaded) {
    out('Addon: DOES NOT LOAD');
    try {
      // The loader's own explanation: what it tried and what to do.
      version();
    } catch (err) {
      out((err as Error).message.replace(/^/gm, '  '));
    }
    return 1;
  }
  const v = version();
  out(`Addon: loads from ${loaded}`);
  out(
    `  LibTorch ${v.libtorch}, ${v.threads} threads, MKL ${v.mkl}, CUDA ${v.cuda ? `${v.cudaVersion}, ${v.cudaDevices} device(s)` : 'not available'}${v.builtWithCuda ? ' (built with CUDA kernels)' : ''}, CPU allocator ${allocatorInfo().cpu}`
  );
  return 0;
}
