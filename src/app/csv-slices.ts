import { parse } from 'csv-parse';
import { invalid } from '../domain/errors';
import type { TimeSlicer } from './time-slicer';

/** Bytes handed to the CSV parser at a time, between checks of the time slice. */
const PARSE_PIECE_BYTES = 2048;

/** The file's records, parsed a piece at a time; a CSV syntax error is an 'invalid' naming the line. */
export async function parseInSlices(csv: string, slicer: TimeSlicer): Promise<string[][]> {
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: true });
  const records: string[][] = [];
  let failure: Error | undefined;
  parser.on('data', (r: string[]) => records.push(r));
  const ended = new Promise<void>((resolve) => {
    parser.once('end', resolve);
    // `on`, not `once`: a write after the first error reports another one, which must not go unheard.
    parser.on('error', (e: Error) => {
      failure ??= e;
      resolve();
    });
  });
  // Bytes, not string slices: a piece boundary may fall inside a character, the parser joins the bytes.
  const bytes = Buffer.from(csv, 'utf8');
  for (let at = 0; at < bytes.length && !failure; at += PARSE_PIECE_BYTES) {
    parser.write(bytes.subarray(at, at + PARSE_PIECE_BYTES));
    await slicer.pause();
  }
  if (!failure) parser.end();
  await ended;
  if (failure) throw invalid('file', `the file is not valid CSV: ${failure.message}`);
  return records;
}
