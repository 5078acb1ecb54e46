// A small Bot API stand-in for delivery tests, on loopback: it records every sendMessage (and
// sendDocument) with the time it arrived, answers the calls a scripted `rateLimit` picks with 429
// and a `retry_after` and those `refuse` picks with 400, never answers the calls a scripted `hold`
// picks, and serves queued updates to getUpdates (so a real grammY bot can poll it), forgetting
// those below the offset the bot confirmed. It edits the texts of messages it sent
// (editMessageText, recorded in `edits`) and serves files added with `addFile` (getFile and the
// file download). Only what the delivery path uses is implemented; any other method answers `true`.
//
// The stand-in answers on the test's own thread, whose event loop, busy with the bot, the
// dispatcher and an embedded database, can read a request hundreds of milliseconds after it was
// sent (measured: up to 577 ms on a loaded machine, while the sender wrote each within 17 ms of
// its limiter's start), which would bunch arrival times that were spaced. With `stampArrivals`,
// a front on a worker thread of its own takes each request as it arrives, stamps the time and
// passes it on to the stand-in.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";

export interface RecordedSend {
  /** The message id the stand-in answered with (accepted sends only). */
  messageId?: number;
  /** When the request reached the stand-in (ms since the epoch). */
  at: number;
  chatId: number;
  text: string;
  /** false when it was answered with 429 (Telegram kept nothing). */
  accepted: boolean;
  /** "HTML" when the text is Telegram HTML. */
  parseMode?: string;
  /** sendDocument: the file's name and contents. */
  document?: { fileName: string; content: string };
}

/** An editMessageText call: the message it replaced the text of. */
export interface RecordedEdit {
  chatId: number;
  messageId: number;
  text: string;
  parseMode?: string;
}

export interface BotApiStandIn {
  /** For TELEGRAM_API_ROOT. */
  apiRoot: string;
  sends: RecordedSend[];
  /** Accepted messages only: what customers really received. */
  delivered(): RecordedSend[];
  /** The highest offset a getUpdates call confirmed: Telegram forgets every update below it. */
  confirmedOffset: number;
  /** Updates served to the next getUpdates calls. */
  pushUpdates(updates: object[]): void;
  /**
   * Picks the calls answered with 429: gets the chat and how many sendMessage calls to it came
   * before this one; returns `retry_after` seconds, or undefined to accept the message.
   */
  rateLimit: (chatId: number, earlierCalls: number) => number | undefined;
  /** Picks the calls refused with 400 (as Telegram refuses a bad request): returns the description. */
  refuse: (chatId: number, earlierCalls: number) => string | undefined;
  /**
   * Picks the sendMessage calls never answered (recorded as not accepted): the caller stays inside
   * the call, a deterministic place to kill it.
   */
  hold: (chatId: number, text: string) => boolean;
  /** The calls held so far. */
  held: RecordedSend[];
  /** editMessageText calls answered (of messages this stand-in sent). */
  edits: RecordedEdit[];
  /** Files customers "sent", served by getFile and the file download (`/file/bot<token>/<path>`). */
  addFile(fileId: string, path: string, content: string | Buffer): void;
  /** getFile and file downloads asked for so far (file ids and paths). */
  fileCalls: string[];
  close(): Promise<void>;
}

/** The header the arrival front adds: when the request reached it (ms since the epoch). */
const ARRIVED_AT = "x-stand-in-arrived-at";

// The front: a reverse proxy to the stand-in that only stamps. A request the stand-in never
// answers (`hold`) stays open here too, until the front's thread is terminated.
const FRONT_SOURCE = `
const http = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const arrivedAt = String(Date.now());
  const upstream = http.request(
    { host: "127.0.0.1", port: workerData.port, method: req.method, path: req.url, agent,
      headers: { ...req.headers, "${ARRIVED_AT}": arrivedAt } },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
      answer.on("aborted", () => res.destroy());
    },
  );
  upstream.on("error", () => res.destroy());
  req.pipe(upstream);
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
`;

export async function startBotApiStandIn(
  options: {
    /**
     * Stamp each request's arrival on a worker thread of its own (see the module comment), for
     * tests that check the times messages arrived at.
     */
    stampArrivals?: boolean;
  } = {},
): Promise<BotApiStandIn> {
  const sends: RecordedSend[] = [];
  const callsPerChat = new Map<number, number>();
  let updates: { update_id: number }[] = [];
  let waiters: (() => void)[] = [];
  let messageId = 0;
  const files = new Map<string, { path: string; content: Buffer }>();
  const sentIds = new Map<number, number>(); // message id -> chat id
  const standIn: BotApiStandIn = {
    apiRoot: "",
    confirmedOffset: 0,
    sends,
    delivered: () => sends.filter((s) => s.accepted),
    pushUpdates(more) {
      updates.push(...(more as { update_id: number }[]));
      for (const wake of waiters) wake();
      waiters = [];
    },
    rateLimit: () => undefined,
    refuse: () => undefined,
    hold: () => false,
    held: [],
    edits: [],
    addFile(fileId, path, content) {
      files.set(fileId, { path, content: Buffer.from(content) });
    },
    fileCalls: [],
    close: async () => {
      for (const wake of waiters) wake();
      // Ends the front's thread, and with it every connection to it, whatever state it is in.
      await front?.terminate();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
  let front: Worker | undefined;
  const answer = (res: http.ServerResponse, status: number, body: object) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const at = Number(req.headers[ARRIVED_AT] ?? Date.now());
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks), at);
    });
  });
  /** A JSON body, or a multipart one (grammY uploads files so): fields as strings, files kept. */
  const readPayload = async (req: http.IncomingMessage, raw: Buffer) => {
    const type = req.headers["content-type"] ?? "";
    if (!type.startsWith("multipart/form-data")) {
      const text = raw.toString("utf8");
      return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    }
    // grammY's multipart stream is read by hand: parts split at the boundary, headers then body.
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1] ?? "";
    const payload: Record<string, unknown> = {};
    for (const part of raw.toString("latin1").split(`--${boundary}`)) {
      const split = part.indexOf("\r\n\r\n");
      if (split < 0) continue;
      const headers = part.slice(0, split);
      const body = Buffer.from(part.slice(split + 4).replace(/\r\n$/, ""), "latin1").toString("utf8");
      const name = /name="([^"]*)"/.exec(headers)?.[1];
      if (!name) continue;
      const fileName = /filename="?([^";\r\n]+)"?/.exec(headers)?.[1];
      payload[name] = fileName === undefined ? body : { fileName, content: body };
    }
    return payload;
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer, at: number) => {
    if (req.url?.startsWith("/file/bot")) {
      const path = decodeURIComponent(req.url.replace(/^\/file\/bot[^/]+\//, ""));
      standIn.fileCalls.push(path);
      const file = [...files.values()].find((f) => f.path === path);
      if (!file) return answer(res, 404, { ok: false, error_code: 404, description: "Not Found" });
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(file.content);
      return;
    }
    const method = req.url?.split("/").pop() ?? "";
    const payload = await readPayload(req, raw);
    switch (method) {
      case "getMe":
        return answer(res, 200, {
          ok: true,
          result: { id: 1, is_bot: true, first_name: "Stand-in", username: "stand_in_bot" },
        });
      case "getUpdates": {
        const offset = Number(payload.offset ?? 0);
        standIn.confirmedOffset = Math.max(standIn.confirmedOffset, offset);
        updates = updates.filter((u) => u.update_id >= offset);
        if (updates.length > 0) return answer(res, 200, { ok: true, result: updates.slice(0, 100) });
        // Long polling, kept short so the bot stops quickly.
        const timer = setTimeout(() => wake(), 200);
        const wake = () => {
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== wake);
          const fresh = updates.filter((u) => u.update_id >= offset);
          if (!res.writableEnded) answer(res, 200, { ok: true, result: fresh.slice(0, 100) });
        };
        waiters.push(wake);
        return;
      }
      case "getFile": {
        const fileId = String(payload.file_id ?? "");
        standIn.fileCalls.push(fileId);
        const file = files.get(fileId);
        if (!file) return answer(res, 400, { ok: false, error_code: 400, description: "Bad Request: invalid file_id" });
        return answer(res, 200, {
          ok: true,
          result: {
            file_id: fileId,
            file_unique_id: `u${fileId}`,
            file_size: file.content.length,
            file_path: file.path,
          },
        });
      }
      case "editMessageText": {
        const chatId = Number(payload.chat_id);
        const id = Number(payload.message_id);
        if (sentIds.get(id) !== chatId)
          return answer(res, 400, {
            ok: false,
            error_code: 400,
            description: "Bad Request: message to edit not found",
          });
        const text = String(payload.text ?? "");
        standIn.edits.push({
          chatId,
          messageId: id,
          text,
          ...(typeof payload.parse_mode === "string" ? { parseMode: payload.parse_mode } : {}),
        });
        return answer(res, 200, {
          ok: true,
          result: { message_id: id, date: Math.floor(at / 1000), chat: { id: chatId, type: "private" }, text },
        });
      }
      case "sendDocument":
      case "sendMessage": {
        const chatId = Number(payload.chat_id);
        const earlier = callsPerChat.get(chatId) ?? 0;
        callsPerChat.set(chatId, earlier + 1);
        const retryAfter = standIn.rateLimit(chatId, earlier);
        const text = String(payload.text ?? payload.caption ?? "");
        if (method === "sendMessage" && standIn.hold(chatId, text)) {
          const send = { at, chatId, text, accepted: false };
          sends.push(send);
          standIn.held.push(send);
          return;
        }
        const extra = {
          ...(typeof payload.parse_mode === "string" ? { parseMode: payload.parse_mode } : {}),
          ...(method === "sendDocument"
            ? { document: attachedFile(payload, payload.document) ?? { fileName: "(none)", content: "" } }
            : {}),
        };
        const refusal = retryAfter === undefined ? standIn.refuse(chatId, earlier) : undefined;
        if (refusal !== undefined) {
          sends.push({ at, chatId, text, accepted: false, ...extra });
          return answer(res, 400, { ok: false, error_code: 400, description: refusal });
        }
        const send: RecordedSend = { at, chatId, text, accepted: retryAfter === undefined, ...extra };
        sends.push(send);
        if (retryAfter !== undefined)
          return answer(res, 429, {
            ok: false,
            error_code: 429,
            description: `Too Many Requests: retry after ${retryAfter}`,
            parameters: { retry_after: retryAfter },
          });
        sentIds.set(++messageId, chatId);
        send.messageId = messageId;
        return answer(res, 200, {
          ok: true,
          result: {
            message_id: messageId,
            date: Math.floor(at / 1000),
            chat: { id: chatId, type: "private" },
            text,
          },
        });
      }
      default:
        return answer(res, 200, { ok: true, result: true });
    }
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  standIn.apiRoot = `http://127.0.0.1:${port}`;
  if (options.stampArrivals) {
    front = new Worker(FRONT_SOURCE, { eval: true, workerData: { port } });
    const frontPort = await new Promise<number>((resolve, reject) => {
      front!.once("message", resolve);
      front!.once("error", reject);
    });
    standIn.apiRoot = `http://127.0.0.1:${frontPort}`;
  }
  return standIn;
}

/** The file a multipart field names: grammY sends `attach://<part>` and the file as that part. */
function attachedFile(
  payload: Record<string, unknown>,
  field: unknown,
): { fileName: string; content: string } | undefined {
  const part = typeof field === "string" && field.startsWith("attach://") ? payload[field.slice(9)] : field;
  return part && typeof part === "object" ? (part as { fileName: string; content: string }) : undefined;
}

/** The most messages that reached the stand-in within any one second (a sliding window). */
export function busiestSecond(sends: RecordedSend[]): number {
  const times = sends.map((s) => s.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= 1000) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}
