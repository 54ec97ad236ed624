// The head of BENCHMARKS.md (section "header"), written by a full `npm run bench`: the command, the date, the
// machine, LibTorch and its threads, the CPU allocator on our side and the reference's tuned settings, the
// PyTorch reference, and which sections that run refreshed. Reads the addon's runtime info in a child process,
// so the runner itself never loads the addon (its environment is the one every benchmark starts from).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT, DIST, machineLine, pythonJson, writeSection, referenceEnvs, describeEnv } = require('./common');

/** `version()` and `allocatorInfo()` of the addon, as a fresh process sees them. */
function runtimeInfo() {
  const code = `const x = require(${JSON.stringify(DIST)}); console.log(JSON.stringify({ info: x.version(), alloc: x.allocatorInfo() }));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reading the addon's runtime info failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const minutes = (s) => (s >= 90 ? `${(s / 60).toFixed(0)} min` : `${s.toFixed(0)} s`);

/** Writes the header for a run of `command` that gave `results` ([{ name, status, seconds }]) into `file`. */
function writeHeader({ command, results, seconds, file }) {
  const { info, alloc } = runtimeInfo();
  const torch = pythonJson('import json, torch; print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads()}))');
  const thp = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').trim();
  const list = (status) =>
    results
      .filter((r) => r.status === status)
      .map((r) => `${r.name} (${minutes(r.seconds)})`)
      .join(', ') || 'none';
  const body = [
    '## How these numbers were made',
    '',
    `- Command: \`${command}\` (bench/index.js), run on ${new Date().toISOString().slice(0, 10)}, ${minutes(seconds)} in all. ` +
      'Every benchmark ran in its own process, one after another.',
    `- Machine: ${machineLine(info)}; Linux ${require('os').release()}; transparent huge pages "${thp}".`,
    `- Threads: LibTorch ${info.threads} intra-op / ${info.interopThreads} inter-op on our side; the PyTorch reference ` +
      `(PyTorch ${torch.version} in .venv, ${torch.threads} threads by default) is set to the same intra-op count.`,
    `- CPU allocator: ours ${alloc.cpu}${alloc.cpu === 'mimalloc' ? ` (purge delay ${alloc.purgeDelayMs} ms, transparent huge pages ${alloc.transparentHugePages ? 'on' : 'off'})` : ''}; ` +
      `the reference runs "tuned" with the same settings (${describeEnv(referenceEnvs(alloc).tuned)}) and, where a table says so, also as installed.`,
    `- Sections this run refreshed: ${list('ok')}. Failed: ${list('failed')}. Skipped: ${list('skipped')}. ` +
      'Other sections are from earlier runs; each section\'s own "Machine" line dates it.',
    '- Times are medians with the fastest and slowest run in brackets; ratios are of medians. Which README or docs/ ' +
      `figure comes from which section: ${path.relative(ROOT, path.join(__dirname, 'README.md'))}.`,
  ].join('\n');
  writeSection('header', body, file, { first: true });
}

module.exports = { writeHeader };
