/**
 * What the Teacher and the cut Student share: both are XLM transformers (native kind 'xlm') and differ
 * only in their model_type and metadata. Creation and loading, with XLM's tied output projection checked.
 */
import type { Tensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { resolveXlmConfig, type XlmConfig } from './config';
import { createNativeModule, type NativeModuleHandle, NativeSeq2Seq } from './native-model';

/** Resolves `options` (errors named after `where`) and builds the native module for the config. */
export function createXlmModule(options: unknown, where: string): { handle: NativeModuleHandle; config: XlmConfig } {
  const config = resolveXlmConfig(options, where);
  return { handle: createNativeModule('xlm', config), config };
}

/**
 * safetensors cannot alias, so `pred_layer.proj.weight` is stored beside `embeddings.weight`; in XLM
 * they are one tensor. A file where they differ was not written by an XLM model.
 */
export function checkTiedWeights(tensors: Map<string, Tensor>, where: string): void {
  for (const side of ['encoder', 'decoder']) {
    const emb = tensors.get(`${side}.embeddings.weight`);
    const proj = tensors.get(`${side}.pred_layer.proj.weight`);
    if (!emb || !proj) continue; // strict loading reports the missing names
    const same = emb.shape.join() === proj.shape.join() && tidy(() => emb.ne(proj).sum().item()) === 0;
    if (!same) {
      throw new Error(`${where}: ${side}.pred_layer.proj.weight differs from ${side}.embeddings.weight, but XLM ties them`);
    }
  }
}

/** The common base of Teacher and the cut Student. */
export abstract class XlmModel extends NativeSeq2Seq<XlmConfig> {}
