// PostgreSQL's binary COPY format, for bulk writes where parsing text costs the server more than
// the rows themselves (numbers and timestamps arrive as their 4 or 8 bytes; nothing is escaped).
// Layout: signature, flags and header extension; per row a field count, then per field its byte
// length (-1 for NULL) and its bytes, big-endian; a -1 field count ends the data.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
/** PostgreSQL's epoch (2000-01-01) in Unix milliseconds. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/**
 * Builds binary COPY data in chunks of about `chunkBytes`: call `row(fields)`, then one typed
 * writer per field in table order; `take()` hands over the finished bytes so far. The first
 * chunk carries the header and `end()` the trailer.
 */
export class BinaryCopyWriter {
  private buffer: Buffer;
  private offset = 0;

  constructor(
    private readonly chunkBytes = 1 << 20,
    header = true,
  ) {
    this.buffer = Buffer.allocUnsafe(chunkBytes);
    if (!header) return;
    SIGNATURE.copy(this.buffer, 0);
    this.buffer.writeInt32BE(0, SIGNATURE.length); // flags: no OIDs
    this.buffer.writeInt32BE(0, SIGNATURE.length + 4); // no header extension
    this.offset = SIGNATURE.length + 8;
  }

  /**
   * One field's bytes (length word and value), encoded once by `write` for a value many rows
   * repeat (a run id, a risk band); pass it to {@link encoded}.
   */
  static field(write: (writer: BinaryCopyWriter) => unknown): Buffer {
    const writer = new BinaryCopyWriter(64, false);
    write(writer);
    return Buffer.from(writer.take());
  }

  /** A field encoded before by {@link BinaryCopyWriter.field}. */
  encoded(field: Uint8Array): this {
    this.buffer.set(field, this.offset);
    this.offset += field.length;
    return this;
  }

  /** Starts a row of `fields` fields; `maxBytes` bounds its size so the buffer can grow first. */
  row(fields: number, maxBytes: number): this {
    this.reserve(2 + maxBytes);
    this.buffer.writeInt16BE(fields, this.offset);
    this.offset += 2;
    return this;
  }

  int4(value: number | null): this {
    if (value === null) return this.null();
    this.buffer.writeInt32BE(4, this.offset);
    this.buffer.writeInt32BE(value, this.offset + 4);
    this.offset += 8;
    return this;
  }

  bool(value: boolean): this {
    this.buffer.writeInt32BE(1, this.offset);
    this.buffer.writeUInt8(value ? 1 : 0, this.offset + 4);
    this.offset += 5;
    return this;
  }

  /** A double; NULL when not finite (as the text writers of this project do). */
  float8(value: number): this {
    if (!Number.isFinite(value)) return this.null();
    this.buffer.writeInt32BE(8, this.offset);
    this.buffer.writeDoubleBE(value, this.offset + 4);
    this.offset += 12;
    return this;
  }

  /** A `bigint` from an integer within ±2^53 (two 32-bit halves: no BigInt per value). */
  int8(value: number): this {
    const high = Math.floor(value / 0x1_0000_0000);
    this.buffer.writeInt32BE(8, this.offset);
    this.buffer.writeInt32BE(high, this.offset + 4);
    this.buffer.writeUInt32BE(value - high * 0x1_0000_0000, this.offset + 8);
    this.offset += 12;
    return this;
  }

  /** A `timestamp` (without time zone) holding the UTC wall time of `date`. */
  timestamp(date: Date): this {
    // Microseconds as two 32-bit halves: exact below 2^53, and no BigInt per value.
    const micros = (date.getTime() - PG_EPOCH_MS) * 1000;
    const high = Math.floor(micros / 0x1_0000_0000);
    this.buffer.writeInt32BE(8, this.offset);
    this.buffer.writeInt32BE(high, this.offset + 4);
    this.buffer.writeUInt32BE(micros - high * 0x1_0000_0000, this.offset + 8);
    this.offset += 12;
    return this;
  }

  /** A `text` or `json` value (json's binary form is its text). */
  text(value: string): this {
    const length = this.buffer.write(value, this.offset + 4, "utf8");
    this.buffer.writeInt32BE(length, this.offset);
    this.offset += 4 + length;
    return this;
  }

  /** A `text` or `json` value given as its UTF-8 bytes. */
  bytes(value: Uint8Array): this {
    this.buffer.writeInt32BE(value.length, this.offset);
    this.buffer.set(value, this.offset + 4);
    this.offset += 4 + value.length;
    return this;
  }

  null(): this {
    this.buffer.writeInt32BE(-1, this.offset);
    this.offset += 4;
    return this;
  }

  /**
   * Whether a row of at most `maxBytes` would fit the current chunk without growing it; when not,
   * `take()` first spares copying the chunk into a larger one.
   */
  fits(maxBytes: number): boolean {
    return this.offset + 2 + maxBytes <= this.buffer.length;
  }

  /** Whether the current chunk has reached its size (a good moment to `take()`). */
  get full(): boolean {
    return this.offset >= this.chunkBytes;
  }

  /** The bytes written since the last call; the writer goes on with a fresh buffer. */
  take(): Buffer {
    const done = this.buffer.subarray(0, this.offset);
    this.buffer = Buffer.allocUnsafe(Math.max(this.chunkBytes, done.length));
    this.offset = 0;
    return done;
  }

  /** Appends the trailer and returns the last bytes. */
  end(): Buffer {
    this.reserve(2);
    this.buffer.writeInt16BE(-1, this.offset);
    this.offset += 2;
    return this.take();
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(bigger, 0, 0, this.offset);
    this.buffer = bigger;
  }
}

/** Upper bound of the UTF-8 bytes of a string (3 per UTF-16 unit). */
export const maxUtf8Bytes = (value: string): number => value.length * 3;
