// The op table: bundle op type -> function(inputs Tensor[], weights {slot: Tensor}, config,
// extra {mask, initialState, initialOutput}) -> Tensor[]. One module per op family, as the
// NumPy runtime (rnnconvert/runtime/ops/).

import { attention } from "./attention.js";
import { dotProductAttention, einsumDense } from "./attn.js";
import { conv1d, crop1d, globalPool1d, pad1d, pool1d, upsample1d } from "./conv.js";
import { conv2d, globalPool2d } from "./conv2d.js";
import { convLstm } from "./conv_lstm.js";
import { conv, convTranspose } from "./convnd.js";
import {
  activation,
  dense,
  embedding,
  expandDims,
  fillLike,
  logicalAnd,
  logicalOr,
  masking,
  notEqualMask,
  reduceAny,
} from "./core.js";
import { gru } from "./gru.js";
import { lstm } from "./lstm.js";
import { maskedMerge } from "./masked_merge.js";
import { batchNorm, dot, layerNorm, prelu } from "./normalization.js";
import { adaptivePool, cropping, globalPool3d, poolNd, upsample3d, zeroPadding } from "./pool.js";
import { centerCrop, rescaling, resize2d } from "./resize.js";
import { autoContrast, groupNorm, normalization, rmsNorm, threshold, unitNorm } from "./norms.js";
import { foldTime, merge, reverse, unfoldTime, zeroMasked } from "./sequence.js";
import { flatten, permute, repeatVector, reshapeOp, transposeOp } from "./shape.js";
import { simpleRnn } from "./simple_rnn.js";
import { TENSOR_OPS } from "./tensor_ops.js";
import { TEXT_OPS } from "./text.js";

export const OPS = {
  Dense: dense,
  Activation: activation,
  Embedding: embedding,
  NotEqualMask: notEqualMask,
  Masking: masking,
  ReduceAny: reduceAny,
  LogicalAnd: logicalAnd,
  LogicalOr: logicalOr,
  ExpandDims: expandDims,
  FillLike: fillLike,
  LSTM: lstm,
  GRU: gru,
  SimpleRNN: simpleRnn,
  ConvLSTM: convLstm,
  Reverse: reverse,
  Merge: merge,
  FoldTime: foldTime,
  UnfoldTime: unfoldTime,
  ZeroMasked: zeroMasked,
  Conv1D: conv1d,
  Pool1D: pool1d,
  GlobalPool1D: globalPool1d,
  ZeroPadding1D: pad1d,
  Cropping1D: crop1d,
  UpSampling1D: upsample1d,
  Conv2D: conv2d,
  Pool2D: poolNd, // the N-D pooling of pool.js, as Pool3D
  GlobalPool2D: globalPool2d,
  Flatten: flatten,
  Reshape: reshapeOp,
  Permute: permute,
  RepeatVector: repeatVector,
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  PReLU: prelu,
  Dot: dot,
  Attention: attention,
  MaskedMerge: maskedMerge,
  Transpose: transposeOp,
  // format 1.3: convolutions (issue 14)
  Conv3D: conv,
  ConvTranspose: convTranspose,
  // format 1.3: 3-D pooling, adaptive pooling, padding, cropping (issue 14)
  Pool3D: poolNd,
  GlobalPool3D: globalPool3d,
  AdaptivePool: adaptivePool,
  ZeroPadding: zeroPadding,
  Cropping: cropping,
  UpSampling3D: upsample3d,
  // format 1.3: resizing and rescaling (issue 14)
  Resize2D: resize2d,
  CenterCrop: centerCrop,
  Rescaling: rescaling,
  // format 1.3: attention (issue 16)
  EinsumDense: einsumDense,
  DotProductAttention: dotProductAttention,
  // format 1.3: normalization and inference-time layers (issue 16)
  GroupNormalization: groupNorm,
  RMSNormalization: rmsNorm,
  UnitNormalization: unitNorm,
  Normalization: normalization,
  Threshold: threshold,
  AutoContrast: autoContrast,
  // format 1.3: preprocessing and text (issue 16)
  ...TEXT_OPS,
  // format 1.3: inline tensor operations (issue 16)
  ...TENSOR_OPS,
};

/** Recurrent ops: how many states follow the output. */
export const RECURRENT_STATE_COUNT = { LSTM: 2, GRU: 1, SimpleRNN: 1, ConvLSTM: 2 };
