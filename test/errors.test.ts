// Bad input to the tensor API: every case must throw a JS error of the right class whose message names the
// function and the argument at fault (as "<fn>: argument '<name>' must be <expected>, got <what>", or a
// LibTorch message followed by the tensors it was given), and must never crash the process. The cases run
// serially; the last test checks the addon still works after all of them.

import test from 'ava';
import {
  type Tensor,
  arange,
  cat,
  cuda,
  full,
  manualSeed,
  memoryStats,
  noGrad,
  ones,
  randint,
  randn,
  setNumThreads,
  stack,
  tensor,
  tidy,
  where,
  zeros,
} from '../lib';
import { native } from '../lib/native';

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;
interface Case {
  title: string;
  fn: () => unknown;
  instanceOf: ErrorClass;
  message: RegExp;
}

// TypeScript would reject most of these calls; the casts stand for untyped JS callers.
const bad = <T>(v: unknown): T => v as T;
const f32 = (data: number[] | number[][]): Tensor => tensor(data, { dtype: 'float32' });
/** A tensor that has already been disposed. */
function disposed(): Tensor {
  const t = ones([2, 3]);
  t.dispose();
  return t;
}

const cases: Case[] = [
  // ---- wrong argument types ------------------------------------------------------------------------------
  {
    title: 'add: a string operand',
    fn: () => ones([2]).add(bad('x')),
    instanceOf: TypeError,
    message: /^add: argument 'other' must be a Tensor or a number, got string 'x'$/,
  },
  {
    title: 'add: an object operand',
    fn: () => ones([2]).add(bad({})),
    instanceOf: TypeError,
    message: /^add: argument 'other' must be a Tensor or a number, got object$/,
  },
  {
    title: 'mul: undefined operand',
    fn: () => ones([2]).mul(bad(undefined)),
    instanceOf: TypeError,
    message: /^mul: argument 'other' must be a Tensor or a number, got undefined$/,
  },
  {
    title: 'sub: null operand',
    fn: () => ones([2]).sub(bad(null)),
    instanceOf: TypeError,
    message: /^sub: argument 'other' must be a Tensor or a number, got null$/,
  },
  {
    title: 'pow: a bigint exponent',
    fn: () => ones([2]).pow(bad(2n)),
    instanceOf: TypeError,
    message: /^pow: argument 'other' must be a Tensor or a number, got bigint$/,
  },
  {
    title: 'matmul: a string where a tensor is needed',
    fn: () => ones([2, 2]).matmul(bad('x')),
    instanceOf: TypeError,
    message: /^matmul: argument 'other' must be a Tensor, got string$/,
  },
  {
    title: 'matmul: null',
    fn: () => ones([2, 2]).matmul(bad(null)),
    instanceOf: TypeError,
    message: /^matmul: argument 'other' must be a Tensor, got null$/,
  },
  {
    title: 'gather: a plain array as index',
    fn: () => ones([3]).gather(0, bad([0, 1])),
    instanceOf: TypeError,
    message: /^gather: argument 'index' must be a Tensor, got object$/,
  },
  {
    title: 'maskedFill: a string value',
    fn: () => ones([2]).maskedFill(tensor([true, false]), bad('v')),
    instanceOf: TypeError,
    message: /^maskedFill: argument 'value' must be a Tensor or a number, got string 'v'$/,
  },
  {
    title: 'cat: a non-tensor element',
    fn: () => cat([ones([2]), bad('x')]),
    instanceOf: TypeError,
    message: /^cat: argument 'tensors\[1\]' must be a Tensor$/,
  },
  { title: 'cat: not an array', fn: () => cat(bad('x')), instanceOf: TypeError, message: /^cat: argument 'tensors' must be an array of Tensors$/ },
  {
    title: 'cat: an empty list',
    fn: () => cat([]),
    instanceOf: TypeError,
    message: /^cat: argument 'tensors' must be a non-empty array of Tensors$/,
  },
  {
    title: 'where: condition is not a tensor',
    fn: () => where(bad('x'), 1, 2),
    instanceOf: TypeError,
    message: /^where: argument 'condition' must be a Tensor$/,
  },
  {
    title: 'where: a string branch',
    fn: () => where(tensor([true]), bad('a'), 1),
    instanceOf: TypeError,
    message: /^where: argument 'input' must be a Tensor or a number, got string 'a'$/,
  },
  {
    title: 'zeros: undefined shape',
    fn: () => zeros(bad(undefined)),
    instanceOf: TypeError,
    message: /^zeros: argument 'shape' must be an array of integers, got undefined$/,
  },
  { title: 'full: a string fill value', fn: () => full([2], bad('x')), instanceOf: TypeError, message: /^full: argument 'value' .*got string 'x'$/ },
  {
    title: 'tensor: a string',
    fn: () => tensor(bad('abc')),
    instanceOf: TypeError,
    message: /^tensor: argument 'data' must be a number, boolean or bigint, got string$/,
  },
  {
    title: 'tensor: null',
    fn: () => tensor(bad(null)),
    instanceOf: TypeError,
    message: /^tensor: argument 'data' must be a number, boolean or bigint, got null$/,
  },
  {
    title: 'tensor: undefined',
    fn: () => tensor(bad(undefined)),
    instanceOf: TypeError,
    message: /^tensor: argument 'data' must be a number, boolean or bigint, got undefined$/,
  },
  {
    title: 'tensor: a plain object',
    fn: () => tensor(bad({ a: 1 })),
    instanceOf: TypeError,
    message: /^tensor: argument 'data' must be a number, boolean or bigint, got object$/,
  },
  {
    title: 'tensor: a string element inside an array',
    fn: () => tensor(bad([1, 'a'])),
    instanceOf: TypeError,
    message: /^tensor: element \[1\] must be a number, boolean or bigint, got string$/,
  },
  {
    title: 'tensor: an unsupported TypedArray (Uint16Array)',
    fn: () => tensor(new Uint16Array(2)),
    instanceOf: TypeError,
    message: /^tensor: unsupported TypedArray Uint16Array$/,
  },
  {
    title: 'tensor: an unknown dtype',
    fn: () => tensor([1, 2], { dtype: bad('float8') }),
    instanceOf: TypeError,
    message: /^tensor: argument 'dtype' must be one of float32, .*, got float8$/,
  },
  {
    title: 'zeros: an unknown dtype',
    fn: () => zeros([2], { dtype: bad('complex64') }),
    instanceOf: TypeError,
    message: /^zeros: argument 'dtype': unknown dtype 'complex64'; expected one of float32/,
  },
  {
    title: 'to: a number target',
    fn: () => ones([2]).to(bad(123)),
    instanceOf: TypeError,
    message: /^to: argument 'target' must be a dtype, a device or \{ dtype, device \}, got 123$/,
  },
  {
    title: 'to: an unknown dtype in the options object',
    fn: () => ones([2]).to({ dtype: bad('foo') }),
    instanceOf: TypeError,
    message: /^to: argument 'dtype': unknown dtype 'foo'/,
  },

  // ---- shape mismatch --------------------------------------------------------------------------------------
  {
    title: 'add: shapes that do not broadcast',
    fn: () => ones([2, 3]).add(ones([2, 4])),
    instanceOf: Error,
    message:
      /^add: The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1 \(self: \[2, 3\] float32 cpu, other: \[2, 4\] float32 cpu\)$/,
  },
  {
    title: 'matmul: inner dims differ',
    fn: () => ones([2, 3]).matmul(ones([4, 2])),
    instanceOf: Error,
    message: /^matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\) \(self: \[2, 3\] float32 cpu, other: \[4, 2\] float32 cpu\)$/,
  },
  {
    title: 'cat: sizes differ off the cat dim',
    fn: () => cat([ones([2, 3]), ones([2, 4])]),
    instanceOf: Error,
    message: /^cat: Sizes of tensors must match except in dimension 0.*\(tensors\[0\]: \[2, 3\] float32 cpu, tensors\[1\]: \[2, 4\] float32 cpu\)$/,
  },
  {
    title: 'stack: unequal shapes',
    fn: () => stack([ones([2, 3]), ones([2, 4])]),
    instanceOf: Error,
    message: /^stack: stack expects each tensor to be equal size.*\(tensors\[0\]: \[2, 3\] float32 cpu, tensors\[1\]: \[2, 4\] float32 cpu\)$/,
  },
  {
    title: 'expand: a non-singleton dim',
    fn: () => ones([2, 3]).expand(4, 3),
    instanceOf: Error,
    message: /^expand: The expanded size of the tensor \(4\) must match the existing size \(2\).*\(self: \[2, 3\] float32 cpu\)$/,
  },
  {
    title: 'permute: wrong number of dims',
    fn: () => ones([2, 3]).permute(0),
    instanceOf: TypeError,
    message: /^permute: argument 'dims' must list 2 dims for \[2, 3\] float32 cpu, got 1$/,
  },

  // ---- dtype mismatch --------------------------------------------------------------------------------------
  {
    title: 'gather: a float index',
    fn: () => ones([3]).gather(0, f32([0, 1])),
    instanceOf: TypeError,
    message: /^gather: argument 'index' must be an int64 or int32 tensor, got float32$/,
  },
  {
    title: 'indexSelect: a bool index',
    fn: () => ones([3]).indexSelect(0, tensor([true])),
    instanceOf: TypeError,
    message: /^indexSelect: argument 'index' must be an int64 or int32 tensor, got bool$/,
  },
  {
    title: 'maskedFill: a uint8 (non-bool) mask',
    fn: () => ones([2]).maskedFill(tensor([1, 0], { dtype: 'uint8' }), 0),
    instanceOf: TypeError,
    message: /^maskedFill: argument 'mask' must be a bool tensor, got uint8$/,
  },
  {
    title: 'where: an int64 (non-bool) condition',
    fn: () => where(tensor([1, 0]), 1, 2),
    instanceOf: TypeError,
    message: /^where: argument 'condition' must be a bool tensor, got int64$/,
  },
  {
    title: 'requiresGrad = true on an int tensor',
    fn: () => {
      arange(3).requiresGrad = true;
    },
    instanceOf: TypeError,
    message: /^setRequiresGrad: only floating-point tensors can require gradients, got int64$/,
  },
  {
    title: 'tensor(..., { requiresGrad }) with int data',
    fn: () => tensor([1, 2], { requiresGrad: true }),
    instanceOf: TypeError,
    message: /^setRequiresGrad: only floating-point tensors can require gradients, got int64$/,
  },
  {
    title: 'mean of an int tensor',
    fn: () => arange(6).mean(),
    instanceOf: TypeError,
    message: /^mean: argument 'self' must be a floating-point tensor for mean, got int64$/,
  },
  {
    title: 'softmax of an int tensor',
    fn: () => arange(3).softmax(0),
    instanceOf: TypeError,
    message: /^softmax: argument 'self' must be a floating-point tensor for softmax, got int64$/,
  },
  { title: 'randn with an int dtype', fn: () => randn([2], { dtype: 'int64' }), instanceOf: Error, message: /^randn: .*not implemented for 'Long'/ },

  // ---- devices ---------------------------------------------------------------------------------------------
  {
    title: "to('tpu'): an unknown device",
    fn: () => ones([2]).to(bad('tpu')),
    instanceOf: TypeError,
    message: /^to: argument 'target' must be a dtype or a device \('cpu', 'cuda', 'cuda:N'\), got 'tpu'$/,
  },
  {
    title: "zeros({ device: 'tpu' })",
    fn: () => zeros([2], { device: bad('tpu') }),
    instanceOf: TypeError,
    message: /^zeros: argument 'device': unknown device 'tpu'; expected 'cpu', 'cuda' or 'cuda:N'$/,
  },
  {
    title: "to({ device: 'gpu' })",
    fn: () => ones([2]).to({ device: bad('gpu') }),
    instanceOf: TypeError,
    message: /^to: argument 'device': unknown device 'gpu'/,
  },
  ...(cuda.isAvailable()
    ? [
        {
          title: "to('cuda:99'): a CUDA device that does not exist",
          fn: () => ones([2]).to('cuda:99'),
          instanceOf: RangeError,
          message: /^to: argument 'device': device 'cuda:99' does not exist; this machine has \d+ CUDA device\(s\)$/,
        },
        {
          title: "zeros({ device: 'cuda:99' })",
          fn: () => zeros([2], { device: 'cuda:99' }),
          instanceOf: RangeError,
          message: /^zeros: argument 'device': device 'cuda:99' does not exist/,
        },
      ]
    : [
        {
          title: "to('cuda') without CUDA",
          fn: () => ones([2]).to('cuda'),
          instanceOf: TypeError,
          message: /^to: argument 'device': device 'cuda' requested but CUDA is not available/,
        },
        {
          title: "to('cuda:0') without CUDA",
          fn: () => ones([2]).to({ device: 'cuda:0' }),
          instanceOf: TypeError,
          message: /^to: argument 'device': device 'cuda:0' requested but CUDA is not available/,
        },
        {
          title: "ones({ device: 'cuda' }) without CUDA",
          fn: () => ones([2], { device: 'cuda' }),
          instanceOf: TypeError,
          message: /^ones: argument 'device': device 'cuda' requested but CUDA is not available/,
        },
      ]),

  // ---- disposed tensors ------------------------------------------------------------------------------------
  {
    title: 'disposed: an op on it',
    fn: () => disposed().add(1),
    instanceOf: TypeError,
    message: /^add: argument 'self' is a disposed Tensor \(it was freed by dispose\(\) or tidy\(\)\)$/,
  },
  {
    title: 'disposed: as the other operand',
    fn: () => ones([2, 3]).mul(disposed()),
    instanceOf: TypeError,
    message: /^mul: argument 'other' is a disposed Tensor/,
  },
  {
    title: 'disposed: as matmul operand',
    fn: () => ones([3, 3]).matmul(disposed()),
    instanceOf: TypeError,
    message: /^matmul: argument 'other' is a disposed Tensor/,
  },
  {
    title: 'disposed: in a cat list',
    fn: () => cat([ones([2, 3]), disposed()]),
    instanceOf: TypeError,
    message: /^cat: argument 'tensors\[1\]' is a disposed Tensor$/,
  },
  {
    title: 'disposed: as a where condition',
    fn: () => where(disposed(), 1, 2),
    instanceOf: TypeError,
    message: /^where: argument 'condition' is a disposed Tensor/,
  },
  { title: 'disposed: reading shape', fn: () => disposed().shape, instanceOf: TypeError, message: /^shape: argument 'tensor' is a disposed Tensor/ },
  { title: 'disposed: reading dtype', fn: () => disposed().dtype, instanceOf: TypeError, message: /^dtype: argument 'tensor' is a disposed Tensor/ },
  {
    title: 'disposed: reading device',
    fn: () => disposed().device,
    instanceOf: TypeError,
    message: /^device: argument 'tensor' is a disposed Tensor/,
  },
  {
    title: 'disposed: reading requiresGrad',
    fn: () => disposed().requiresGrad,
    instanceOf: TypeError,
    message: /^requiresGrad: argument 'self' is a disposed Tensor/,
  },
  { title: 'disposed: reading grad', fn: () => disposed().grad, instanceOf: TypeError, message: /^grad: argument 'self' is a disposed Tensor/ },
  { title: 'disposed: toArray', fn: () => disposed().toArray(), instanceOf: TypeError, message: /^toBytes: argument 'tensor' is a disposed Tensor/ },
  { title: 'disposed: tolist', fn: () => disposed().tolist(), instanceOf: TypeError, message: /^shape: argument 'tensor' is a disposed Tensor/ },
  { title: 'disposed: item', fn: () => disposed().item(), instanceOf: TypeError, message: /^shape: argument 'tensor' is a disposed Tensor/ },
  { title: 'disposed: backward', fn: () => disposed().backward(), instanceOf: TypeError, message: /^backward: argument 'self' is a disposed Tensor/ },
  { title: 'disposed: to()', fn: () => disposed().to('float64'), instanceOf: TypeError, message: /^to: argument 'self' is a disposed Tensor/ },
  {
    title: 'disposed by tidy: used after the scope closed',
    fn: () => {
      let inner: Tensor | undefined;
      tidy(() => {
        inner = ones([2]);
        return 0;
      });
      return inner!.sum();
    },
    instanceOf: TypeError,
    message: /^sum: argument 'self' is a disposed Tensor \(it was freed by dispose\(\) or tidy\(\)\)$/,
  },

  // ---- out of range --------------------------------------------------------------------------------------
  {
    title: 'softmax: dim out of range',
    fn: () => ones([2, 3]).softmax(2),
    instanceOf: RangeError,
    message: /^softmax: argument 'dim' is out of range: got 2, expected a dim in \[-2, 1\] for a tensor of shape \[2, 3\] float32 cpu$/,
  },
  {
    title: 'sum: negative dim out of range',
    fn: () => ones([2, 3]).sum(-3),
    instanceOf: RangeError,
    message: /^sum: argument 'dim' is out of range: got -3, expected a dim in \[-2, 1\]/,
  },
  {
    title: 'sum: a dim list entry out of range',
    fn: () => ones([2, 3]).sum([0, 5]),
    instanceOf: RangeError,
    message: /^sum: argument 'dim\[1\]' is out of range for \[2, 3\] float32 cpu$/,
  },
  {
    title: 'maxDim: dim out of range',
    fn: () => ones([2]).maxDim(3),
    instanceOf: RangeError,
    message: /^max: argument 'dim' is out of range: got 3/,
  },
  {
    title: 'transpose: dim1 out of range',
    fn: () => ones([2]).transpose(0, 1),
    instanceOf: RangeError,
    message: /^transpose: argument 'dim1' is out of range: got 1, expected a dim in \[-1, 0\]/,
  },
  {
    title: 'unsqueeze: dim out of range',
    fn: () => ones([2]).unsqueeze(3),
    instanceOf: RangeError,
    message: /^unsqueeze: argument 'dim' is out of range: got 3, expected a dim in \[-2, 1\]$/,
  },
  {
    title: 'cat: dim out of range',
    fn: () => cat([ones([2]), ones([2])], 1),
    instanceOf: RangeError,
    message: /^cat: argument 'dim' is out of range: got 1/,
  },
  {
    title: 'gather: index out of range',
    fn: () => ones([3]).gather(0, tensor([0, 5])),
    instanceOf: RangeError,
    message: /^gather: argument 'index' holds index 5, out of range for a dimension of size 3$/,
  },
  {
    title: 'indexSelect: negative index out of range',
    fn: () => ones([3]).indexSelect(0, tensor([-4])),
    instanceOf: RangeError,
    message: /^indexSelect: argument 'index' holds index -4, out of range for a dimension of size 3$/,
  },
  {
    title: 'indexSelect: a 2-d index',
    fn: () => ones([3]).indexSelect(0, tensor([[0]])),
    instanceOf: TypeError,
    message: /^indexSelect: argument 'index' must be a 1-d tensor, got \[1, 1\] int64 cpu$/,
  },
  {
    title: 'topk: k larger than the dim',
    fn: () => ones([3]).topk(4),
    instanceOf: RangeError,
    message: /^topk: argument 'k' is 4 but dim 0 has only 3 elements$/,
  },
  {
    title: 'narrow: past the end',
    fn: () => ones([2, 3]).narrow(1, 2, 2),
    instanceOf: RangeError,
    message: /^narrow: arguments 'start' and 'length' select \[2, 4\) outside dim 1 of size 3$/,
  },
  {
    title: 'narrow: a 0-d tensor',
    fn: () => tensor(5).narrow(0, 0, 1),
    instanceOf: TypeError,
    message: /^narrow: argument 'self' must have at least one dim to narrow$/,
  },
  {
    title: 'randint: high not above low',
    fn: () => randint(5, 2, [2]),
    instanceOf: RangeError,
    message: /^randint: argument 'high' must be greater than 'low'$/,
  },

  // ---- negative, NaN, Infinity, non-integer where integers are required ------------------------------------
  {
    title: 'zeros: a negative shape dim',
    fn: () => zeros([2, -1]),
    instanceOf: TypeError,
    message: /^zeros: argument 'shape\[1\]' must be a non-negative integer, got number -1$/,
  },
  {
    title: 'ones: a NaN shape dim',
    fn: () => ones([NaN]),
    instanceOf: TypeError,
    message: /^ones: argument 'shape\[0\]' must be a non-negative integer, got NaN$/,
  },
  {
    title: 'full: an Infinity shape dim',
    fn: () => full([Infinity], 1),
    instanceOf: TypeError,
    message: /^full: argument 'shape\[0\]' must be a non-negative integer, got Infinity$/,
  },
  {
    title: 'randn: a fractional shape dim',
    fn: () => randn([2.5]),
    instanceOf: TypeError,
    message: /^randn: argument 'shape\[0\]' must be a non-negative integer, got number 2.5$/,
  },
  {
    title: 'softmax: a NaN dim',
    fn: () => ones([2]).softmax(NaN),
    instanceOf: TypeError,
    message: /^softmax: argument 'dim' must be an integer, got NaN$/,
  },
  {
    title: 'sum: an Infinity dim',
    fn: () => ones([2]).sum(Infinity),
    instanceOf: TypeError,
    message: /^sum: argument 'dim' must be an integer, got Infinity$/,
  },
  {
    title: 'sum: a fractional dim',
    fn: () => ones([2, 3]).sum(1.5),
    instanceOf: TypeError,
    message: /^sum: argument 'dim' must be an integer, got number 1.5$/,
  },
  {
    title: 'sum: a fractional dim in a list',
    fn: () => ones([2, 3]).sum([0.5]),
    instanceOf: TypeError,
    message: /^sum: argument 'dim\[0\]' must be an integer, got number 0.5$/,
  },
  {
    title: 'mean: a NaN dim in a list',
    fn: () => ones([2, 3]).mean([NaN]),
    instanceOf: TypeError,
    message: /^mean: argument 'dim\[0\]' must be an integer, got NaN$/,
  },
  {
    title: 'topk: a fractional k',
    fn: () => ones([3]).topk(1.5),
    instanceOf: TypeError,
    message: /^topk: argument 'k' must be an integer, got number 1.5$/,
  },
  { title: 'topk: a NaN k', fn: () => ones([3]).topk(NaN), instanceOf: TypeError, message: /^topk: argument 'k' must be an integer, got NaN$/ },
  {
    title: 'topk: a negative k',
    fn: () => ones([3]).topk(-1),
    instanceOf: TypeError,
    message: /^topk: argument 'k' must be a non-negative integer, got number -1$/,
  },
  {
    title: 'manualSeed: a fractional seed',
    fn: () => manualSeed(1.5),
    instanceOf: TypeError,
    message: /^manualSeed: argument 'seed' must be an integer, got number 1.5$/,
  },
  {
    title: 'manualSeed: NaN',
    fn: () => manualSeed(NaN),
    instanceOf: TypeError,
    message: /^manualSeed: argument 'seed' must be an integer, got NaN$/,
  },
  {
    title: 'manualSeed: a negative seed',
    fn: () => manualSeed(-1),
    instanceOf: TypeError,
    message: /^manualSeed: argument 'seed' must be a non-negative integer, got number -1$/,
  },
  {
    title: 'setNumThreads(0)',
    fn: () => setNumThreads(0),
    instanceOf: TypeError,
    message: /^setNumThreads: argument 'threads' must be a positive integer, got number 0$/,
  },
  {
    title: 'setNumThreads(Infinity)',
    fn: () => setNumThreads(Infinity),
    instanceOf: TypeError,
    message: /^setNumThreads: argument 'threads' must be an integer, got Infinity$/,
  },
  {
    title: 'setNumThreads(1.5)',
    fn: () => setNumThreads(1.5),
    instanceOf: TypeError,
    message: /^setNumThreads: argument 'threads' must be an integer, got number 1.5$/,
  },
  { title: 'arange: step 0', fn: () => arange(0, 5, 0), instanceOf: RangeError, message: /^arange: argument 'step' must be non-zero$/ },
  { title: 'arange: NaN end', fn: () => arange(NaN), instanceOf: TypeError, message: /^arange: argument 'end' must be a finite number, got NaN$/ },
  {
    title: 'arange: a step pointing away from end',
    fn: () => arange(0, 5, -1),
    instanceOf: RangeError,
    message: /^arange: arguments 'start', 'end' and 'step' describe a negative length$/,
  },
  {
    title: 'slice: step 0',
    fn: () => arange(5).slice(0, 0, 5, 0),
    instanceOf: TypeError,
    message: /^slice: argument 'step' must be a positive integer, got number 0$/,
  },
  {
    title: 'randint: a fractional bound',
    fn: () => randint(0, 1.5, [2]),
    instanceOf: TypeError,
    message: /^randint: argument 'high' must be an integer, got number 1.5$/,
  },

  // ---- data that does not fit ----------------------------------------------------------------------------
  {
    title: 'tensor: ragged rows',
    fn: () => tensor([[1, 2], [3]]),
    instanceOf: TypeError,
    message: /^tensor: ragged nested array: element \[1\] should be an array of length 2, got length 1$/,
  },
  {
    title: 'tensor: an array where a scalar was expected',
    fn: () => tensor(bad([1, [2]])),
    instanceOf: TypeError,
    message: /^tensor: ragged nested array: element \[1\] is an array but a scalar was expected$/,
  },
  {
    title: 'tensor: a scalar where an array was expected',
    fn: () => tensor(bad([[1], 2])),
    instanceOf: TypeError,
    message: /^tensor: ragged nested array: element \[1\] should be an array of length 1, got number$/,
  },
  {
    title: 'tensor: a non-integer with dtype int64',
    fn: () => tensor([1, 1.5], { dtype: 'int64' }),
    instanceOf: TypeError,
    message: /^tensor: element 1 is 1.5, not an integer, but dtype is int64$/,
  },
  {
    title: 'tensor: a non-integer mixed with bigints, dtype int64',
    fn: () => tensor([1n, 2.5], { dtype: 'int64' }),
    instanceOf: TypeError,
    message: /^tensor: element 1 is 2.5, not an integer, but dtype is int64$/,
  },
  {
    title: 'tensor: NaN with dtype int32',
    fn: () => tensor([NaN], { dtype: 'int32' }),
    instanceOf: TypeError,
    message: /^tensor: element 0 is NaN, not an integer, but dtype is int32$/,
  },
  {
    title: 'tensor: 300 does not fit uint8',
    fn: () => tensor([1, 300], { dtype: 'uint8' }),
    instanceOf: RangeError,
    message: /^tensor: element 1 is 300, out of range for uint8$/,
  },
  {
    title: 'tensor: a bigint beyond int64',
    fn: () => tensor([2n ** 63n]),
    instanceOf: RangeError,
    message: /^tensor: element 0 is 9223372036854775808, out of range for int64$/,
  },
  {
    title: 'tensor: 3 values with shape [2, 2]',
    fn: () => tensor([1, 2, 3], { shape: [2, 2] }),
    instanceOf: TypeError,
    message: /^tensor: argument 'shape' \[2, 2\] needs 4 elements but the data has 3$/,
  },
  {
    title: 'tensor: a Float32Array of 3 with shape [2, 2]',
    fn: () => tensor(new Float32Array(3), { shape: [2, 2] }),
    instanceOf: TypeError,
    message: /^tensor: argument 'shape' \[2, 2\] needs 4 elements but the data has 3$/,
  },
  {
    title: 'tensor: a negative shape with data',
    fn: () => tensor([1, 2], { shape: [-2] }),
    instanceOf: TypeError,
    message: /^tensor: argument 'shape\[0\]' must be a non-negative integer, got -2$/,
  },
  {
    title: 'tensor: a shape that is not an array',
    fn: () => tensor([1, 2], { shape: bad('2') }),
    instanceOf: TypeError,
    message: /^tensor: argument 'shape' must be an array of integers, got string$/,
  },
  {
    title: 'tensor: a Buffer that is not whole float32 elements',
    fn: () => tensor(Buffer.alloc(5), { dtype: 'float32' }),
    instanceOf: TypeError,
    message: /^tensor: 5 bytes is not a whole number of float32 elements$/,
  },
  {
    title: 'view: an impossible shape',
    fn: () => ones([2, 3]).view(4, 4),
    instanceOf: TypeError,
    message: /^view: argument 'shape' \[4, 4\] is invalid for a tensor of 6 elements \(\[2, 3\] float32 cpu\)$/,
  },
  {
    title: 'view: -1 that cannot be inferred',
    fn: () => ones([2, 3]).view(-1, 4),
    instanceOf: TypeError,
    message: /^view: argument 'shape' \[-1, 4\] is invalid for a tensor of 6 elements/,
  },
  {
    title: 'reshape: two -1',
    fn: () => ones([2, 3]).reshape(-1, -1),
    instanceOf: TypeError,
    message: /^reshape: argument 'shape' may contain -1 only once$/,
  },
  {
    title: 'view: -2 in the shape',
    fn: () => ones([2, 3]).view(-2, 3),
    instanceOf: TypeError,
    message: /^view: argument 'shape\[0\]' must be an integer >= -1, got number -2$/,
  },
  {
    title: 'view: a non-contiguous tensor',
    fn: () => ones([2, 3]).transpose(0, 1).view(6),
    instanceOf: Error,
    message: /^view: view size is not compatible with input tensor's size and stride.*\(self: \[3, 2\] float32 cpu\)$/,
  },

  // ---- autograd and reading back -------------------------------------------------------------------------
  {
    title: 'backward: a non-scalar without a gradient',
    fn: () =>
      tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { dtype: 'float32', requiresGrad: true }
      )
        .mul(2)
        .backward(),
    instanceOf: TypeError,
    message: /^backward: argument 'gradient' is required when 'self' is not a scalar \(\[2, 3\] float32 cpu\)$/,
  },
  {
    title: 'backward: a tensor that does not require grad',
    fn: () => ones([1]).sum().backward(),
    instanceOf: TypeError,
    message: /^backward: argument 'self' does not require grad and has no grad_fn/,
  },
  {
    title: 'backward: a gradient of the wrong shape',
    fn: () =>
      ones([3], { requiresGrad: true })
        .mul(2)
        .backward(ones([4])),
    instanceOf: Error,
    message: /^backward: .*got \[4\] but expected shape compatible with \[3\] \(self: \[3\] float32 cpu, gradient: \[4\] float32 cpu\)$/,
  },
  {
    title: 'backward: a string gradient',
    fn: () => ones([3], { requiresGrad: true }).mul(2).backward(bad('g')),
    instanceOf: TypeError,
    message: /^backward: argument 'gradient' must be a Tensor, got string$/,
  },
  {
    title: 'backward: twice through a freed graph',
    fn: () => {
      const y = ones([2], { requiresGrad: true })
        .mul(ones([2], { requiresGrad: true }))
        .sum();
      y.backward();
      y.backward();
    },
    instanceOf: Error,
    message: /^backward: Trying to backward through the graph a second time/,
  },
  {
    title: 'item: a multi-element tensor',
    fn: () => ones([2, 3]).item(),
    instanceOf: RangeError,
    message: /^item: the tensor must have exactly one element, it has 6 \(Tensor\(\[2, 3\] float32 cpu\)\)$/,
  },
  {
    title: 'item: an empty tensor',
    fn: () => zeros([0]).item(),
    instanceOf: RangeError,
    message: /^item: the tensor must have exactly one element, it has 0/,
  },
  {
    title: 'tolist: int64 beyond 2^53',
    fn: () => tensor(BigInt64Array.of(1n, 2n ** 53n + 1n)).tolist(),
    instanceOf: RangeError,
    message: /^tolist: int64 value 9007199254740993 is beyond 2\^53; use toArray\(\) for exact int64 values$/,
  },
  {
    title: 'new NativeTensor() from JS',
    fn: () => {
      const Ctor = (native() as unknown as { NativeTensor: new () => unknown }).NativeTensor;
      return new Ctor();
    },
    instanceOf: TypeError,
    message: /^NativeTensor: cannot be constructed from JS; use the tensor factories$/,
  },
  {
    title: 'tidy: an async fn',
    fn: () => tidy(bad(async () => ones([1]))),
    instanceOf: TypeError,
    message: /^tidy: fn must be synchronous \(it returned a Promise\)/,
  },
  { title: 'noGrad: an async fn', fn: () => noGrad(async () => 1), instanceOf: TypeError, message: /^noGrad: fn must be synchronous/ },
];

for (const c of cases) {
  test.serial(c.title, (t) => {
    t.throws(c.fn, { instanceOf: c.instanceOf, message: c.message });
  });
}

test.serial('there are at least 35 bad-input cases', (t) => {
  t.true(cases.length >= 35, `${cases.length} cases`);
});

test.serial('dispose twice is fine, and isDisposed/toString work on a disposed tensor', (t) => {
  const x = ones([2]);
  t.false(x.isDisposed);
  x.dispose();
  t.notThrows(() => x.dispose());
  t.true(x.isDisposed);
  t.is(String(x), 'Tensor(disposed)');
});

test.serial('tidy with an async fn disposes what it made before the first await', async (t) => {
  let made: Tensor | undefined;
  let after: Tensor | undefined;
  t.throws(
    () =>
      tidy(
        bad<() => Tensor>(async () => {
          made = ones([2]);
          await Promise.resolve();
          after = ones([2]); // outside any scope by now
          return made;
        })
      ),
    { instanceOf: TypeError, message: /^tidy: fn must be synchronous/ }
  );
  t.true(made!.isDisposed);
  await new Promise((r) => setImmediate(r));
  t.false(after!.isDisposed);
  after!.dispose();
});

test.serial('noGrad leaves grad mode on after an async fn is refused', (t) => {
  t.throws(() => noGrad(async () => 1), { instanceOf: TypeError });
  t.true(ones([2], { requiresGrad: true }).mul(2).requiresGrad);
});

test.serial('after all the errors the process is healthy: ops, grads and memory accounting still work', (t) => {
  const a = f32([
    [1, 2],
    [3, 4],
  ]);
  t.deepEqual(a.matmul(a).tolist(), [
    [7, 10],
    [15, 22],
  ]);
  t.is(a.sum().item(), 10);
  const w = ones([2], { requiresGrad: true });
  w.mul(f32([3, 4]))
    .sum()
    .backward();
  t.deepEqual(w.grad!.tolist(), [3, 4]);
  const stats = memoryStats();
  t.true(Number.isInteger(stats.liveTensors) && stats.liveTensors >= 0);
  let tmp: Tensor | undefined;
  const r = tidy(() => {
    tmp = ones([8]);
    return tmp.add(1);
  });
  t.true(tmp!.isDisposed);
  t.false(r.isDisposed);
  t.is(r.sum().item(), 16);
});
