/**
 * xlm-kd-torch: knowledge distillation for XLM-style translation models, with LibTorch doing the math.
 * This file is the package's public surface; each part lives in the folder of its name.
 */
export * from './tensor';
export { addonCandidates, loadedAddonPath } from './native';
