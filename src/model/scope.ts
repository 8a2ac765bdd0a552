// tf.tidy for results that mix tensors with plain values ({loss: number, dh: Tensor}, state objects): tidy keeps
// every tensor it finds in the returned object (it walks plain objects and arrays, not Maps) and frees the rest;
// its TypeScript signature only admits TensorContainer, hence this one cast in one place.
import * as tf from '@tensorflow/tfjs';

export function tidy<T>(f: () => T): T {
  return tf.tidy(f as unknown as () => tf.TensorContainer) as unknown as T;
}
