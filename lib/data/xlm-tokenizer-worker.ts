/** The worker-thread side of xlm-tokenizer-pool: rebuilds the tokenizer once, then encodes or decodes each request. */
import { parentPort, workerData } from 'node:worker_threads';
import { XlmTokenizer, type XlmTokenizerSources } from './xlm-tokenizer';
import { unflattenIds, type WorkerReply, type WorkerRequest } from './xlm-tokenizer-pool';

const tokenizer = XlmTokenizer.fromFiles(workerData as XlmTokenizerSources);

parentPort!.on('message', (m: WorkerRequest) => {
  try {
    if (m.op === 'encode') {
      const { ids, sizes } = tokenizer.encodeFlat(m.texts, { lang: m.lang });
      parentPort!.postMessage({ id: m.id, ids, sizes } satisfies WorkerReply, [ids.buffer as ArrayBuffer, sizes.buffer as ArrayBuffer]);
    } else {
      parentPort!.postMessage({ id: m.id, texts: tokenizer.decode(unflattenIds(m.rows), { lang: m.lang }) } satisfies WorkerReply);
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message, errorName: (e as Error).name } satisfies WorkerReply);
  }
});
