/** The ids test/tokenizer-shared-pieces.test.ts stores for key i: 1-4 of them, from i alone. */
export function idsFor(i: number): number[] {
  return Array.from({ length: 1 + (i % 4) }, (_, j) => (i * 7 + j * 131) % 150_000);
}
