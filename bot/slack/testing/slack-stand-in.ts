// A local stand-in for Slack's Web API: answers the methods the app uses and records every call
// (and response_url posts and file uploads) for tests to inspect. Loopback only.
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HANG_GUARD_MS } from "../../../test/helpers/hang-guard";

export interface RecordedCall {
  method: string;
  body: Record<string, unknown>;
}

export interface SlackStandIn {
  /** Base for `SLACK_API_URL`, ending in `/api/`. */
  apiUrl: string;
  /** Where a file "shared in Slack" is downloaded from (url_private_download). */
  fileUrl(name: string): string;
  /** A response_url the app can post to; calls are recorded with method `response_url`. */
  responseUrl(id?: string): string;
  calls: RecordedCall[];
  uploads: { fileId: string; content: Buffer }[];
  /**
   * Every file begun with files.getUploadURLExternal: where files.completeUploadExternal shared it
   * (none until then), and whether files.delete removed it. files.info answers from here.
   */
  files: Map<string, { shares: { channel: string; threadTs?: string }[]; deleted: boolean }>;
  usergroupMembers: string[];
  /** Members `conversations.members` reports for any channel. */
  channelMembers: string[];
  /**
   * Makes `method` answer `{ok: false, error}` (for calls `when` accepts) until the returned
   * function is called. The failing calls are recorded too.
   */
  fail(method: string, error: string, when?: (body: Record<string, unknown>) => boolean): () => void;
  callsOf(method: string): RecordedCall[];
  /** Resolves when `count` calls of `method` have been recorded (or rejects after `timeoutMs`). */
  waitFor(method: string, count?: number, timeoutMs?: number): Promise<RecordedCall[]>;
  close(): Promise<void>;
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes("application/json")) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    if (/^[[{]/.test(v)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        // a plain string that starts with a bracket
      }
    }
    out[k] = v;
  }
  return out;
}

/** The uploaded bytes: the file part of a multipart body, or the raw body. */
async function fileContent(raw: Buffer, contentType: string | undefined): Promise<Buffer> {
  if (!contentType?.startsWith("multipart/form-data")) return raw;
  const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
  for (const value of form.values()) if (typeof value !== "string") return Buffer.from(await value.arrayBuffer());
  return raw;
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const calls: RecordedCall[] = [];
  const uploads: { fileId: string; content: Buffer }[] = [];
  const files: SlackStandIn["files"] = new Map();
  const waiters: (() => void)[] = [];
  let ts = 1_700_000_000;
  let fileSeq = 0;
  let base = "";
  const state = { usergroupMembers: [] as string[], channelMembers: [] as string[] };
  const failures: { method: string; error: string; when?: (body: Record<string, unknown>) => boolean }[] = [];

  const record = (call: RecordedCall) => {
    calls.push(call);
    for (const w of waiters.splice(0)) w();
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? "/", base);
      const reply = (body: unknown) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (url.pathname.startsWith("/files/")) {
        // A file "shared in Slack": its bytes need the bot token, as url_private does.
        record({ method: "file_download", body: { path: url.pathname, auth: req.headers.authorization ?? "" } });
        if (!req.headers.authorization?.startsWith("Bearer xoxb-")) {
          res.writeHead(403).end();
          return;
        }
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(Buffer.from(`contents of ${decodeURIComponent(url.pathname.slice("/files/".length))}`));
        return;
      }
      if (url.pathname.startsWith("/upload/")) {
        void fileContent(raw, req.headers["content-type"]).then((content) => {
          uploads.push({ fileId: url.pathname.slice("/upload/".length), content });
          record({ method: "upload", body: { fileId: url.pathname.slice(8), bytes: content.length } });
          res.writeHead(200, { "content-type": "text/plain" });
          res.end(`OK - ${content.length}`);
        });
        return;
      }
      const body = parseBody(raw.toString("utf8"), req.headers["content-type"]);
      if (url.pathname.startsWith("/respond/")) {
        record({ method: "response_url", body });
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok");
        return;
      }
      const method = url.pathname.replace(/^\/api\//, "");
      record({ method, body });
      const failure = failures.find((f) => f.method === method && (!f.when || f.when(body)));
      if (failure) return reply({ ok: false, error: failure.error });
      switch (method) {
        case "auth.test":
          return reply({
            ok: true,
            url: "https://example.slack.com/",
            team: "Test",
            user: "retention",
            team_id: "T0001",
            user_id: "UBOT",
            bot_id: "BBOT",
          });
        case "chat.postMessage":
          return reply({ ok: true, channel: body.channel, ts: `${++ts}.000100`, message: { text: body.text } });
        case "chat.update":
          return reply({ ok: true, channel: body.channel, ts: body.ts });
        case "chat.postEphemeral":
          return reply({ ok: true, message_ts: `${++ts}.000200` });
        case "files.getUploadURLExternal": {
          const fileId = `F${++fileSeq}`;
          files.set(fileId, { shares: [], deleted: false });
          return reply({ ok: true, upload_url: `${base}upload/${fileId}`, file_id: fileId });
        }
        case "files.completeUploadExternal": {
          const done = (body.files as { id: string }[] | undefined) ?? [];
          for (const f of done)
            files.get(f.id)?.shares.push({
              channel: String(body.channel_id),
              ...(body.thread_ts ? { threadTs: String(body.thread_ts) } : {}),
            });
          return reply({ ok: true, files: done.map((f) => ({ id: f.id })) });
        }
        case "files.info": {
          const file = files.get(String(body.file));
          if (!file || file.deleted) return reply({ ok: false, error: "file_not_found" });
          const channels = [...new Set(file.shares.map((s) => s.channel))];
          const shares = Object.fromEntries(
            channels.map((c) => [
              c,
              file.shares.filter((s) => s.channel === c).map((s) => ({ ts: `${ts}.000300`, thread_ts: s.threadTs })),
            ]),
          );
          return reply({
            ok: true,
            file: {
              id: body.file,
              channels: channels.filter((c) => c.startsWith("C")),
              groups: channels.filter((c) => c.startsWith("G")),
              ims: channels.filter((c) => c.startsWith("D")),
              shares: channels.length ? { public: shares } : {},
            },
          });
        }
        case "files.delete": {
          const file = files.get(String(body.file));
          if (!file || file.deleted) return reply({ ok: false, error: "file_not_found" });
          file.deleted = true;
          return reply({ ok: true });
        }
        case "conversations.open":
          return reply({ ok: true, channel: { id: `D${String(body.users)}` } });
        case "conversations.members":
          return reply({ ok: true, members: state.channelMembers, response_metadata: { next_cursor: "" } });
        case "users.info":
          return reply({
            ok: true,
            user: {
              id: body.user,
              name: `user${String(body.user).toLowerCase()}`,
              real_name: `Real ${String(body.user)}`,
              profile: { display_name: `Staffer ${String(body.user)}` },
            },
          });
        case "usergroups.users.list":
          return reply({ ok: true, users: state.usergroupMembers });
        default:
          return reply({ ok: true });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const callsOf = (method: string) => calls.filter((c) => c.method === method);
  return {
    apiUrl: `${base}api/`,
    responseUrl: (id = "r1") => `${base}respond/${id}`,
    fileUrl: (name) => `${base}files/${encodeURIComponent(name)}`,
    calls,
    uploads,
    files,
    get usergroupMembers() {
      return state.usergroupMembers;
    },
    set usergroupMembers(v: string[]) {
      state.usergroupMembers = v;
    },
    get channelMembers() {
      return state.channelMembers;
    },
    set channelMembers(v: string[]) {
      state.channelMembers = v;
    },
    fail(method, error, when) {
      const entry = { method, error, when };
      failures.push(entry);
      return () => {
        const i = failures.indexOf(entry);
        if (i >= 0) failures.splice(i, 1);
      };
    },
    callsOf,
    waitFor: (method, count = 1, timeoutMs = HANG_GUARD_MS) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(
          () =>
            reject(
              new Error(`timed out waiting for ${count} × ${method}; saw ${calls.map((c) => c.method).join(", ")}`),
            ),
          timeoutMs,
        );
        const check = () => {
          const found = callsOf(method);
          if (found.length >= count) {
            clearTimeout(deadline);
            resolve(found);
          } else waiters.push(check);
        };
        check();
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Signs a request body as Slack does: `v0=HMAC_SHA256(secret, "v0:" + ts + ":" + body)`. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

/** POSTs a signed request to the app's events endpoint; returns status and body text. */
export async function postSigned(
  url: string,
  secret: string,
  body: string,
  options: { contentType?: string; timestamp?: number; signature?: string } = {},
): Promise<{ status: number; text: string; ms: number }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const started = Date.now();
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": options.contentType ?? "application/json",
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": options.signature ?? slackSignature(secret, timestamp, body),
    },
    body,
  });
  return { status: res.status, text: await res.text(), ms: Date.now() - started };
}
