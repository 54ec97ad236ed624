/**
 * xlm-kd-torch: knowledge distillation for XLM-style translation models, with LibTorch doing the math.
 * This file is the package's public surface; each part lives in the folder of its name.
 *
 * @packageDocumentation
 */
export * from './tensor';
export * from './models';
export * from './surgery';
export * from './decode';
export * from './train';
export * from './loss';
export * from './eval';
export * from './io';
export * from './data';
export * from './distributed';
export * from './pipeline';
export * from './serve';
export { addonCandidates, loadedAddonPath } from './native';
export type { OptionNamer } from './common/options';
