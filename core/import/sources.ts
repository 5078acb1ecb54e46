// Record sources for imports: CDNOW's whitespace-separated text (CSV files are streamed by
// decode.ts, which detects their encoding and delimiter). Yields cells with the file line number
// they came from, and counts bytes read for progress.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Transform } from "node:stream";

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
