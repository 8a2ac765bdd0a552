// The first item of an async iterable, and the iterable again with that item still at its head: for a consumer
// that must see the first item (its shape, say) before deciding how to consume the rest.
export async function peekFirst<T>(source: AsyncIterable<T>): Promise<{ first: T | undefined; all: AsyncIterable<T> }> {
  const it = source[Symbol.asyncIterator]();
  const head = await it.next();
  const all: AsyncIterable<T> = {
    async *[Symbol.asyncIterator]() {
      if (head.done) return;
      yield head.value;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    },
  };
  return { first: head.done ? undefined : head.value, all };
}
