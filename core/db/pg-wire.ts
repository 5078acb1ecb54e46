// The few pieces of the PostgreSQL v3 wire protocol the embedded server needs: framing client
// messages, finding the transaction status a reply ends with, and composing the replies we
// write ourselves (COPY FROM STDIN, errors). Everything else passes through to PGlite as is.
// Reference: https://www.postgresql.org/docs/current/protocol-message-formats.html

export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_3 = 196608;

/** A complete frame read from a client: a startup-phase packet (no type byte) or a typed message. */
export type ClientFrame =
  | { kind: "ssl" }
  | { kind: "gssenc" }
  | { kind: "cancel" }
  | { kind: "startup"; bytes: Uint8Array }
  | { kind: "message"; type: string; bytes: Uint8Array };

/**
 * Reads whole frames from `buffer`. `startup` says whether the connection is still in its startup
 * phase (untyped packets). Returns the frames and the unread rest.
 */
export function readFrames(
  buffer: Buffer,
  startup: boolean,
): { frames: ClientFrame[]; rest: Buffer; startup: boolean } {
  const frames: ClientFrame[] = [];
  let offset = 0;
  let inStartup = startup;
  // Frames keep their own copies: the buffer they came from is reused for the next read.
  for (;;) {
    if (inStartup) {
      if (buffer.length - offset < 8) break;
      const length = buffer.readInt32BE(offset);
      if (length < 8 || length > 10_000) throw new Error(`bad startup packet length ${length}`);
      if (buffer.length - offset < length) break;
      const code = buffer.readInt32BE(offset + 4);
      if (code === SSL_REQUEST_CODE) frames.push({ kind: "ssl" });
      else if (code === GSSENC_REQUEST_CODE) frames.push({ kind: "gssenc" });
      else if (code === CANCEL_REQUEST_CODE) frames.push({ kind: "cancel" });
      else if (code === PROTOCOL_3) {
        frames.push({ kind: "startup", bytes: new Uint8Array(buffer.subarray(offset, offset + length)) });
        inStartup = false;
      } else throw new Error(`unsupported protocol version ${code}`);
      offset += length;
      continue;
    }
    if (buffer.length - offset < 5) break;
    const length = buffer.readInt32BE(offset + 1);
    if (length < 4) throw new Error(`bad message length ${length}`);
    if (buffer.length - offset < length + 1) break;
    const type = String.fromCharCode(buffer[offset]!);
    frames.push({ kind: "message", type, bytes: new Uint8Array(buffer.subarray(offset, offset + length + 1)) });
    offset += length + 1;
  }
  return { frames, rest: buffer.subarray(offset), startup: inStartup };
}

/**
 * The transaction status of the last ReadyForQuery in a server reply: "I" (idle), "T" (in a
 * transaction block), "E" (in a failed transaction block), or null when the reply has none
 * (an extended-protocol message before its Sync).
 */
export function lastReadyStatus(reply: Uint8Array): "I" | "T" | "E" | null {
  let status: "I" | "T" | "E" | null = null;
  let offset = 0;
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  while (offset + 5 <= reply.length) {
    const type = reply[offset];
    const length = view.getInt32(offset + 1);
    if (type === 0x5a /* Z */ && length === 5 && offset + 6 <= reply.length) {
      status = String.fromCharCode(reply[offset + 5]!) as "I" | "T" | "E";
    }
    offset += 1 + length;
  }
  return status;
}

/** The SQL text of a simple Query ('Q') message. */
export function querySql(message: Uint8Array): string {
  return Buffer.from(message.buffer, message.byteOffset + 5, Math.max(0, message.length - 6)).toString("utf8");
}

/** A simple Query message for `sql`. */
export function queryMessage(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, "utf8");
  const out = Buffer.alloc(5 + text.length);
  out.write("Q", 0, "latin1");
  out.writeInt32BE(4 + text.length, 1);
  text.copy(out, 5);
  return out;
}

export const SYNC_MESSAGE = Uint8Array.from([0x53, 0, 0, 0, 4]);

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** CopyInResponse: the server is ready for COPY data (text or binary, per `binary`). */
export function copyInResponse(binary: boolean): Buffer {
  const body = Buffer.alloc(3);
  body.writeInt8(binary ? 1 : 0, 0);
  body.writeInt16BE(0, 1);
  return message("G", body);
}

export function commandComplete(tag: string): Buffer {
  return message("C", Buffer.from(`${tag}\0`, "utf8"));
}

export function readyForQuery(status: "I" | "T" | "E"): Buffer {
  return message("Z", Buffer.from(status, "latin1"));
}

/** ErrorResponse with severity, SQLSTATE code and message (plus detail/hint when given). */
export function errorResponse(fields: {
  severity?: string;
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
}): Buffer {
  const parts: string[] = [];
  const severity = fields.severity ?? "ERROR";
  parts.push(`S${severity}\0`, `V${severity}\0`, `C${fields.code ?? "XX000"}\0`, `M${fields.message}\0`);
  if (fields.detail) parts.push(`D${fields.detail}\0`);
  if (fields.hint) parts.push(`H${fields.hint}\0`);
  parts.push("\0");
  return message("E", Buffer.from(parts.join(""), "utf8"));
}
