/**
 * Student: the kinds of small model behind one name — a transformer cut from the teacher's layers
 * (`Student.fromTeacher`), a transformer of its own sizes from scratch (`Student.transformer`) and a BiGRU
 * seq2seq (`Student.bigru`) — and loading any of them from a file.
 */
import { type BiGruOptions, BiGruStudent } from '../models/bigru';
import { CutStudent } from '../models/cut-student';
import { TransformerStudent } from '../models/transformer-student';
import type { XlmOptions } from '../models/config';
import { readModelMetadata } from '../models/load';
import type { Seq2Seq } from '../models/seq2seq';
import { type CutOptions, cutStudent } from './cut';

/** Any kind of student. */
export type Student = CutStudent | TransformerStudent | BiGruStudent;

/** Makes students (cut from a teacher, a transformer of its own sizes, a BiGRU) and loads any of them from a file. */
export const Student = {
  /** A student whose layers are deep copies of chosen teacher layers (see {@link CutOptions}). */
  fromTeacher(teacher: Seq2Seq, opts: CutOptions = {}): CutStudent {
    return cutStudent(teacher, opts);
  },
  /**
   * A freshly initialised transformer of its own sizes over the shared vocabulary (unset sizes: TRANSFORMER_STUDENT_DEFAULTS,
   * 3-1 layers, 256 wide, 4 heads).
   */
  transformer(opts: XlmOptions): TransformerStudent {
    return TransformerStudent.create(opts);
  },
  /** A freshly initialised BiGRU seq2seq over the shared vocabulary. */
  bigru(opts: BiGruOptions): BiGruStudent {
    return BiGruStudent.create(opts);
  },
  /** Loads a saved student of either kind, by the model_type in its metadata. */
  async load(path: string): Promise<Student> {
    const type = (await readModelMetadata(path)).model_type;
    if (type === 'xlm-student') return CutStudent.load(path);
    if (type === 'xlm-scratch-student') return TransformerStudent.load(path);
    if (type === 'bigru-student') return BiGruStudent.load(path);
    throw new Error(
      `Student.load(${JSON.stringify(path)}): the file holds a '${type ?? 'unknown'}' model, not a student ('xlm-student', 'xlm-scratch-student' or 'bigru-student')`
    );
  },
};
