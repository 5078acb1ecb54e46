// Record sources for imports: CSV (csv-parse, streamed) and CDNOW's whitespace-separated
// text. Each yields cells with the file line number they came from, and counts bytes read
// for progress.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Transform } from "node:stream";
import { parse } from "csv-parse";

export interface SourceRecord {
  line: number;
  cells: string[];
}

/** A line the reader itself could not turn into cells (e.g. an unclosed quote). */
export interface SourceError {
  line: number;
  reason: string;
}

export interface RecordSource {
  header: string[];
  records: AsyncIterable<SourceRecord>;
  /** Errors found while reading, appended as they happen. */
  errors: SourceError[];
  bytesRead(): number;
  totalBytes: number;
  close(): void;
}

function countingStream(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/** Opens a CSV file with a header row. Throws when the file is missing or has no header. */
export async function openCsv(file: string, options: { delimiter?: string } = {}): Promise<RecordSource> {
  const totalBytes = (await stat(file)).size;
  let bytes = 0;
  const errors: SourceError[] = [];
  const input = createReadStream(file);
  const parser = parse({
    bom: true,
    delimiter: options.delimiter ?? ",",
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    // guards against a runaway unclosed quote swallowing the file; single cells over
    // MAX_FIELD_LENGTH are rejected per row later
    max_record_size: 16 * 1024 * 1024,
  });
  parser.on("skip", (error: Error & { lines?: number }) => {
    errors.push({ line: error.lines ?? 0, reason: `unreadable CSV: ${error.message.replace(/^Invalid \w+: /, "")}` });
  });
  input.pipe(countingStream((n) => (bytes += n))).pipe(parser);
  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: { lines: number } }>;
  const first = await iterator.next();
  if (first.done) {
    input.destroy();
    throw new Error(`${file} is empty: a header row is expected`);
  }
  const header = first.value.record.map((h) => h.trim());
  async function* records(): AsyncIterable<SourceRecord> {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield { line: next.value.info.lines, cells: next.value.record };
    }
  }
  return {
    header,
    records: records(),
    errors,
    bytesRead: () => bytes,
    totalBytes,
    close: () => input.destroy(),
  };
}

/**
 * CDNOW purchase logs: `customer_id YYYYMMDD cds dollars` (the master file) or
 * `master_id sample_id YYYYMMDD cds dollars` (the 1/10 sample), whitespace separated.
 * Yields cells as `customer_id, date, cds, dollars`.
 */
export async function openCdnow(file: string): Promise<RecordSource> {
  const totalBytes = (await stat(file)).size;
  let bytes = 0;
  const errors: SourceError[] = [];
  const input = createReadStream(file);
  const lines = createInterface({ input: input.pipe(countingStream((n) => (bytes += n))), crlfDelay: Infinity });
  async function* records(): AsyncIterable<SourceRecord> {
    let line = 0;
    for await (const text of lines) {
      line++;
      const parts = text.trim().split(/\s+/);
      if (parts.length === 1 && parts[0] === "") continue;
      if (line === 1 && !/^\d/.test(parts[0]!)) continue; // a header line (the master file has one)
      if (parts.length === 4) yield { line, cells: parts };
      else if (parts.length === 5) yield { line, cells: [parts[0]!, parts[2]!, parts[3]!, parts[4]!] };
      else yield { line, cells: parts }; // wrong column count: reported by the row check
    }
  }
  return {
    header: ["customer_id", "date", "cds", "dollars"],
    records: records(),
    errors,
    bytesRead: () => bytes,
    totalBytes,
    close: () => input.destroy(),
  };
}
