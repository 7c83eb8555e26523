// Types of the rnnconvert JavaScript runtime.

export type TypedArray = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Int16Array | Uint16Array;

/** A C-order array: float32 values, int32 ids, bool (Uint8Array of 0/1) or strings (text inputs). */
export declare class Tensor {
  constructor(
    data: Float32Array | Int32Array | Uint8Array | string[],
    shape: number[],
    dtype?: "float32" | "int32" | "bool" | "string",
  );
  data: Float32Array | Int32Array | Uint8Array | string[];
  shape: number[];
  dtype: "float32" | "int32" | "bool" | "string";
  readonly rank: number;
}

/** What predict/step accept for one input: any typed array with a shape (floats are cast to float32);
 *  for an input whose dtype is "string" (format 1.3.0), an array of JS strings. */
export interface TensorLike {
  data: TypedArray | string[];
  shape: readonly number[];
}

export type Inputs = TensorLike | TensorLike[] | Record<string, TensorLike>;

export interface TensorInfo {
  name: string;
  shape: (number | null)[];
  dtype: string;
}

/** Streaming state: recurrent node name -> [...states, lastOutput] (or [] before a node given initial_state starts). */
export type State = Record<string, Tensor[]>;

export interface OutputCheck {
  name: string;
  maxAbsError: number;
  tolerance: number;
  ok: boolean;
}

export interface VerifyReport {
  origin: string;
  ok: boolean;
  outputs: OutputCheck[];
  lines: string[];
}

export interface StreamPlan {
  error: string | null;
  timedInputs: string[];
  outputKinds: string[];
  streamNodes: string[];
}

export declare class Model {
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  readonly formatVersion: string;
  /** The JSON object given at conversion (--metadata), a fresh copy; {} when the bundle has none. */
  readonly metadata: Record<string, unknown>;
  readonly stateful: boolean;
  batchSize: number | null;
  maxElements: number;
  /** A streaming model whose call would hold more values than this runs through time in chunks (0: never). */
  timeChunkElements: number;
  readonly doc: Record<string, unknown>;
  /** Run the model like Keras's model.predict: one Tensor for a single-output model, else an array. */
  predict(inputs: Inputs): Tensor | Tensor[];
  /** Forget the states a stateful model carries between predict calls. */
  resetStates(): void;
  streamPlan(): StreamPlan;
  initialState(batchSize: number): State;
  /** One timestep (time axis left out) or a chunk of every streamed input; the state is not modified. */
  step(inputs: Inputs, state: State): [Tensor | Tensor[], State];
  /** Run the bundle's embedded test vectors (null when it has none). */
  check(): VerifyReport | null;
}

export type BundleSource =
  | string
  | URL
  | { "model.json": string | ArrayBuffer | ArrayBufferView | Record<string, unknown>; [file: string]: unknown };

export interface LoadOptions {
  /** Bound on the weights' bytes (default 8 GiB). */
  maxWeightBytes?: number;
  /** Bound on the array elements one call may hold (default 2**30). */
  maxElements?: number;
  /** A model that streams and whose call would hold more values than this (default 2**24) runs
   *  through time in chunks, carrying its states: same numbers, memory bounded by one chunk. 0: never. */
  timeChunkElements?: number;
  /** Run the embedded test vectors at load; FormatError if they do not reproduce. */
  verify?: boolean;
  /** "auto" (default): the WebAssembly SIMD kernels where WebAssembly is available (products,
   *  LSTM/GRU scans with tanh/sigmoid gates), else plain JavaScript; "js": always plain
   *  JavaScript. In Node, RNNCONVERT_JS_KERNELS=js makes "js" the default. */
  kernels?: "auto" | "js";
}

/** Load a bundle: a directory or model.json path (Node), a URL (fetch), or in-memory buffers. */
export declare function load(source: BundleSource, options?: LoadOptions): Promise<Model>;
export declare function check(model: Model): VerifyReport | null;
export declare const FORMAT_VERSION: string;
/** Every op type this runtime runs. */
export declare const OP_TYPES: readonly string[];
/** Load the op modules of these op types (load() does it for a bundle's ops; op modules are imported on demand). */
export declare function loadOps(ops: Iterable<string>): Promise<void>;

export declare class RnnConvertError extends Error {}
export declare class FormatError extends RnnConvertError {}
export declare class VersionError extends RnnConvertError {}
export declare class InputError extends RnnConvertError {}
export declare class ResourceError extends RnnConvertError {}
export declare class SecurityError extends RnnConvertError {}
