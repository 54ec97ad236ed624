/**
 * Layer surgery as a pipeline stage: a student whose layers are copies of chosen teacher layers, written to its
 * own model file with the teacher's tokenizer (its files) beside it (the starting point of `distill` with a student file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasTokenizerBeside, loadTokenizer, saveTokenizerBeside, tokenizerFileBeside } from '../data/load-tokenizer';
import { loadModel } from '../models/load';
import type { CutOptions } from '../surgery/cut';
import { Student } from '../surgery/student';

/** Cuts a student from the teacher file and saves it; returns the layer map and its size. */
export async function cutModel(
  teacherFile: string,
  out: string,
  opts: CutOptions
): Promise<{ encoder: number[]; decoder: number[]; parameters: number }> {
  const teacher = await loadModel(teacherFile);
  const student = Student.fromTeacher(teacher, opts);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  await student.save(out);
  if (hasTokenizerBeside(teacherFile)) await saveTokenizerBeside(loadTokenizer(tokenizerFileBeside(teacherFile)), out);
  return { ...student.layerMap, parameters: student.numParameters() };
}
