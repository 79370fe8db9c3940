import { Readable } from 'node:stream';

/** Items serialised per piece: a piece is written, then the event loop runs. */
const ITEMS_PER_PIECE = 100;

/**
 * `{ "<countKey>": n, "<listKey>": [ ...items ] }` as a stream of JSON text,
 * serialised a hundred items at a time with a turn of the event loop
 * between pieces. The answer to a 50,000-device import is about 14 MB of
 * JSON: in one JSON.stringify it held the event loop for a long time.
 */
export function jsonListInSlices(countKey: string, listKey: string, items: readonly unknown[]): Readable {
  async function* pieces(): AsyncGenerator<string> {
    yield `{${JSON.stringify(countKey)}:${items.length},${JSON.stringify(listKey)}:[`;
    for (let i = 0; i < items.length; i += ITEMS_PER_PIECE) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const piece = JSON.stringify(items.slice(i, i + ITEMS_PER_PIECE));
      yield `${i > 0 ? ',' : ''}${piece.slice(1, -1)}`;
    }
    yield ']}';
  }
  return Readable.from(pieces(), { objectMode: false });
}
