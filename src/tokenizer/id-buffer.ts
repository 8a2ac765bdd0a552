// Where token ids go as a tokenizer writes them: a number[] or an IdBuffer, a growing Int32Array
// the packer's pool threads fill for a whole task, with no JS array per document.

export interface IdSink {
  push(id: number): unknown;
}

/** A growing Int32Array: ids appended without a JS array per document. */
export class IdBuffer implements IdSink {
  private buf: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.buf = new Int32Array(Math.max(16, capacity));
  }
  push(id: number): void {
    if (this.length === this.buf.length) {
      const grown = new Int32Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.length++] = id;
  }
  get(i: number): number {
    return this.buf[i];
  }
  set(i: number, id: number): void {
    this.buf[i] = id;
  }
  /** [from, length): a view, valid until the next push. */
  view(from = 0): Int32Array {
    return this.buf.subarray(from, this.length);
  }
  /** A fresh, exactly-sized copy (its buffer can be transferred). */
  take(): Int32Array {
    return this.buf.slice(0, this.length);
  }
}

