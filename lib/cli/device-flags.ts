/**
 * --device and --precision, for every subcommand that runs a model: parsed here, checked by the library
 * (lib/tensor/device.ts), and handed to it as the `device` / `precision` options, which move the model.
 */
import { type Precision, resolveDevice, resolvePrecision } from '../tensor/device';
import type { Device } from '../tensor/dtype';
import { checkFlags, type FlagValues, str } from './args';

/** parseArgs specs of the flags. */
export const deviceFlagSpecs = { device: { type: 'string' }, precision: { type: 'string' } } as const;

/** Their help text. */
export const deviceFlagsHelp = `Device:
      --device DEV         cpu, cuda or cuda:N: the model is moved there (default cpu)
      --precision P        fp32, bf16 or fp16: forward passes under autocast, float32 weights (default fp32)
`;

/** The device and precision the flags ask for (undefined when not given), checked against this machine. */
export function deviceFlags(v: FlagValues): { device?: Device; precision?: Precision } {
  const device = str(v, 'device');
  const precision = str(v, 'precision');
  return checkFlags(() => ({
    device: device === undefined ? undefined : resolveDevice('', device, 'device', () => '--device'),
    precision: precision === undefined ? undefined : resolvePrecision('', precision, 'precision', () => '--precision'),
  }));
}
