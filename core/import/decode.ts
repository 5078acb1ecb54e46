// Turning an export's bytes into rows: the encoding (UTF-8 with or without BOM, Windows-1251,
// Latin-1...) detected with chardet or given, decoded with iconv-lite; the delimiter sniffed from
// the header; any line end (\n, \r\n, old Mac \r). Each row keeps its line number in the file.
// `readTable` reads a file whole; `streamTable` reads it in batches of rows, for files of any size.
import { createReadStream } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import chardet from "chardet";
import { Parser, type Options as CsvOptions } from "csv-parse";
import { parse } from "csv-parse/sync";
import iconv from "iconv-lite";

export interface TableRecord {
  line: number;
  cells: string[];
}

export interface Table {
  header: string[];
  records: TableRecord[];
  /** Lines the CSV reader itself could not split (an unclosed quote...). */
  errors: { line: number; reason: string }[];
  /** The encoding used and whether it was detected or given. */
  encoding: string;
  encodingSource: "given" | "detected" | "bom";
  delimiter: string;
  totalBytes: number;
}

/** Thrown when a file can't be read as a table at all. */
export class TableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TableError";
  }
}

/**
 * Picks the encoding: a BOM wins, then valid UTF-8, then chardet's guess among the single-byte
 * encodings exports use (Windows-1251 for Cyrillic, Latin-1 / Windows-1252 otherwise).
 */
export function detectEncoding(
  bytes: Buffer,
  options: { partial?: boolean } = {},
): { encoding: string; source: "bom" | "detected" } {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: "utf-8", source: "bom" };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: "utf-16le", source: "bom" };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: "utf-16be", source: "bom" };
  try {
    // The start of a longer file may end inside a character: `stream` lets it.
    new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: options.partial === true });
    return { encoding: "utf-8", source: "detected" };
  } catch {
    // not UTF-8: ask chardet
  }
  // chardet's statistics are unreliable on the few hundred bytes of a small export (it calls short
  // Russian text Arabic), so Cyrillic is told by words: read as Windows-1251, Russian gives whole
  // Cyrillic words, while Latin-1 text gives Latin words with a stray Cyrillic letter ("Zoй").
  const asCyrillic = iconv.decode(bytes.subarray(0, 1 << 20), "windows-1251");
  let cyrillicWords = 0;
  let mixedWords = 0;
  for (const word of asCyrillic.match(/\p{L}+/gu) ?? []) {
    const cyrillic = /[\u0400-\u04ff]/.test(word);
    if (cyrillic && /[A-Za-z]/.test(word)) mixedWords++;
    else if (cyrillic && word.length > 1) cyrillicWords++;
  }
  if (cyrillicWords > mixedWords) return { encoding: "windows-1251", source: "detected" };
  const latin = chardet
    .analyse(bytes.subarray(0, 1 << 20))
    .find((g) => /^(windows-125[02]|ISO-8859-(1|2|15))$/i.test(g.name) && iconv.encodingExists(g.name));
  const name = latin?.name.toLowerCase() ?? "windows-1252";
  // Latin-1 as exports mean it: Windows-1252 is its superset (it adds €, quotes and dashes)
  return { encoding: name === "iso-8859-1" ? "windows-1252" : name, source: "detected" };
}

/** The delimiter used most on the header line, outside quotes. */
export function sniffDelimiter(text: string): string {
  const end = text.search(/[\r\n]/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/"[^"]*"/g, "");
  let best = ",";
  let most = 0;
  for (const d of [",", ";", "\t", "|"]) {
    const n = head.split(d).length - 1;
    if (n > most) {
      most = n;
      best = d;
    }
  }
  return best;
}

/** A failure to open or read `file`, as the message an import shows. */
function asTableError(file: string, error: unknown): TableError {
  if (error instanceof TableError) return error;
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return new TableError(`${file}: no such file`);
  return new TableError(`${file}: ${(error as Error).message}`);
}

/** The encoding given with --encoding (checked), or the one detected. */
function chooseEncoding(
  given: string | undefined,
  detect: () => { encoding: string; source: Table["encodingSource"] },
): { encoding: string; source: Table["encodingSource"] } {
  if (!given) return detect();
  if (!iconv.encodingExists(given))
    throw new TableError(`--encoding ${given}: unknown encoding (e.g. utf-8, windows-1251, latin1, windows-1252)`);
  return { encoding: given, source: "given" };
}

/** Reads a whole CSV file with a header row. Throws TableError when it can't. */
export async function readTable(file: string, options: { encoding?: string; delimiter?: string } = {}): Promise<Table> {
  let bytes: Buffer;
  try {
    if ((await stat(file)).isDirectory()) throw new TableError(`${file} is a folder, not a file`);
    bytes = await readFile(file);
  } catch (error) {
    throw asTableError(file, error);
  }
  const { encoding, source: encodingSource } = chooseEncoding(options.encoding, () => detectEncoding(bytes));
  const text = iconv.decode(bytes, encoding, { stripBOM: true });
  if (text.trim() === "") throw new TableError(`${file} is empty: a header row is expected`);
  const delimiter = options.delimiter ?? sniffDelimiter(text);
  const errors: Table["errors"] = [];
  const rows = parse(text, { ...csvOptions(delimiter, errors), info: true }) as unknown as {
    record: string[];
    info: { lines: number };
  }[];
  const [first, ...rest] = rows;
  if (!first) throw new TableError(`${file} is empty: a header row is expected`);
  return {
    header: first.record.map((h) => h.trim()),
    records: rest.map((r) => ({ line: r.info.lines, cells: r.record })),
    errors,
    encoding,
    encodingSource,
    delimiter,
    totalBytes: bytes.length,
  };
}

function csvOptions(delimiter: string, errors: Table["errors"]): CsvOptions {
  return {
    delimiter,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (error) => {
      if (!error) return undefined;
      errors.push({
        line: Number(error.lines ?? 0),
        reason: `unreadable CSV: ${error.message.replace(/^Invalid \w+: /, "")}`,
      });
      return undefined;
    },
  };
}

/** A CSV file read as a stream: the header at once, the rows in batches as they are read. */
export interface TableStream extends Omit<Table, "records"> {
  /** The rows after the header, in file order, a few thousand at a time. Read them once. */
  batches: AsyncIterable<TableRecord[]>;
  /** Bytes of the file read so far. */
  bytesRead(): number;
  /** Stops reading (the batches end). */
  close(): void;
}

/** Bytes read before decoding, to detect the encoding and the delimiter. */
const SNIFF_BYTES = 1 << 20;
const BATCH_ROWS = 2000;

/**
 * csv-parse's stream, with each row's line number (the line it ends on, as csv-parse's `info`
 * gives it, without building an info object per row) and rows handed on in batches.
 *
 * While the text has no quote and one kind of line end (as most exports), its rows are split
 * here, as csv-parse splits them, in a fifth of the time csv-parse took. The first quote or other
 * line end hands the rest, from the start of its line, to csv-parse, counting lines on from there.
 */
class NumberedRows extends Parser {
  private batch: TableRecord[] = [];
  private plain = true;
  /** The start of a line not ended yet. */
  private carry = "";
  private lineEnd: "\n" | "\r\n" | null = null;
  private line = 1;
  private readonly decoder = new StringDecoder("utf8");

  constructor(
    private readonly delimiter: string,
    options: CsvOptions,
  ) {
    // The text the decoder hands over is taken as it is, not encoded to UTF-8 again by the stream
    // (Transform's default) to be decoded here once more. Two batches of rows at most wait to be
    // read: rows held longer outlive the young generation's collections and cost copying.
    super({ ...options, decodeStrings: false, readableHighWaterMark: 2 } as CsvOptions);
  }

  override _transform(
    chunk: Buffer | string,
    encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (!this.plain)
      return super._transform(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk, encoding, callback);
    const text = this.carry + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    this.carry = "";
    if (this.splitPlain(text, false)) return callback();
    this.handOver();
    super._transform(Buffer.from(text, "utf8"), encoding, callback);
  }

  override _flush(callback: (error?: Error | null) => void): void {
    if (this.plain) {
      const text = this.carry + this.decoder.end();
      this.carry = "";
      if (this.splitPlain(text, true)) {
        this.push(null);
        return callback();
      }
      this.handOver();
      // csv-parse's last chunk, then its end
      return super._transform(Buffer.from(text, "utf8"), "utf8", (error) =>
        error ? callback(error) : super._flush(callback),
      );
    }
    super._flush(callback);
  }

  /** Splits `text` (from a line's start) into rows; false, with nothing taken, where csv-parse must read it. */
  private splitPlain(text: string, end: boolean): boolean {
    if (text.includes('"')) return false;
    if (this.lineEnd === null) {
      const at = text.search(/[\r\n]/);
      if (at < 0 || (text[at] === "\r" && at === text.length - 1 && !end)) {
        if (!end) {
          this.carry = text;
          return true;
        }
      } else if (text[at] === "\n") this.lineEnd = "\n";
      else if (text[at + 1] === "\n") this.lineEnd = "\r\n";
      else return false; // old Mac line ends: csv-parse's
    }
    let body = text;
    // A \r at the very end may be the first half of a \r\n
    if (!end && this.lineEnd === "\r\n" && body.endsWith("\r")) body = body.slice(0, -1);
    if (this.lineEnd === "\n" ? body.includes("\r") : /\r(?!\n)|(?<!\r)\n/.test(body)) return false;
    const lines = body.split(this.lineEnd ?? "\n");
    const last = lines.pop()!;
    for (const line of lines) {
      if (line !== "") this.row(line);
      this.line++;
    }
    if (end) {
      if (last !== "") this.row(last);
    } else this.carry = last + text.slice(body.length);
    return true;
  }

  private row(line: string): void {
    this.batch.push({ line: this.line, cells: line.split(this.delimiter) });
    if (this.batch.length < BATCH_ROWS) return;
    const full = this.batch;
    this.batch = [];
    super.push(full);
  }

  /** csv-parse goes on from the start of the current line, with the line end found so far. */
  private handOver(): void {
    this.plain = false;
    // csv-parse's own counters and options (lib/api/index.js: info, options, state)
    const parser = this as unknown as {
      info: { lines: number };
      options: { record_delimiter: Buffer[] };
      state: { recordDelimiterMaxLength: number };
    };
    parser.info.lines = this.line;
    if (this.lineEnd) {
      parser.options.record_delimiter.push(Buffer.from(this.lineEnd));
      parser.state.recordDelimiterMaxLength = this.lineEnd.length;
    }
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) {
      if (this.batch.length) super.push(this.batch);
      this.batch = [];
      return super.push(null, encoding);
    }
    this.batch.push({ line: this.info.lines, cells: chunk as string[] });
    if (this.batch.length < BATCH_ROWS) return true;
    const full = this.batch;
    this.batch = [];
    return super.push(full);
  }
}

/**
 * Opens a CSV file with a header row for reading in batches: the encoding and delimiter are
 * detected (or given) from its first megabyte; memory stays bounded whatever the file's size.
 * Throws TableError when the file can't be read as a table.
 */
export async function streamTable(
  file: string,
  options: { encoding?: string; delimiter?: string } = {},
): Promise<TableStream> {
  let totalBytes: number;
  let head: Buffer;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new TableError(`${file} is a folder, not a file`);
    totalBytes = info.size;
    const handle = await open(file);
    try {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(Math.min(SNIFF_BYTES, totalBytes)), 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw asTableError(file, error);
  }
  const { encoding, source: encodingSource } = chooseEncoding(options.encoding, () =>
    detectEncoding(head, { partial: head.length < totalBytes }),
  );
  const text = iconv.decode(head, encoding, { stripBOM: true });
  if (text.trim() === "" && head.length === totalBytes)
    throw new TableError(`${file} is empty: a header row is expected`);
  const delimiter = options.delimiter ?? sniffDelimiter(text);

  const errors: Table["errors"] = [];
  const input = createReadStream(file, { highWaterMark: 1 << 16 });
  const rows = new NumberedRows(delimiter, csvOptions(delimiter, errors));
  const reading = pipeline(input, iconv.decodeStream(encoding, { stripBOM: true }), rows);
  reading.catch(() => undefined); // a failure reaches the reader through `rows`; close() ends it early
  const iterator = (rows as AsyncIterable<TableRecord[]>)[Symbol.asyncIterator]();
  let first: TableRecord[] = [];
  let header: string[] | null = null;
  while (header === null) {
    const next = await iterator.next();
    if (next.done) break;
    if (next.value.length === 0) continue;
    header = next.value[0]!.cells.map((h) => h.trim());
    first = next.value.slice(1);
  }
  if (header === null) {
    input.destroy();
    throw new TableError(`${file} is empty: a header row is expected`);
  }
  return {
    header,
    batches: (async function* () {
      if (first.length) yield first;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
    errors,
    encoding,
    encodingSource,
    delimiter,
    totalBytes,
    bytesRead: () => input.bytesRead,
    close: () => {
      rows.destroy();
      input.destroy();
    },
  };
}
