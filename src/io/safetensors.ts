// Public safetensors API: reading by offset, validated headers, atomic writes, sharded folders,
// and the float16 / bfloat16 conversions. Implementation lives in the sibling files.
export type { DType, WideDType, OpaqueDType, AnyDType, TypedArray } from './dtypes.ts';
export { f32ToBf16, bf16ToF32, f32ToF16, f16ToF32, DTYPES } from './dtypes.ts';
export type { TensorInfo } from './safetensors-header.ts';
export { MAX_HEADER_BYTES } from './safetensors-header.ts';
export { SafetensorsFile } from './safetensors-file.ts';
export type { OpenOptions } from './safetensors-file.ts';
export { WeightSet, writeShardedSafetensors } from './safetensors-shards.ts';
export type { WeightSetOptions, ShardOptions } from './safetensors-shards.ts';
export { writeSafetensors, serializeSafetensors } from './safetensors-write.ts';
export type { TensorToWrite } from './safetensors-write.ts';
