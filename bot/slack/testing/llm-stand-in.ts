// A local OpenAI-compatible chat server for tests: each request to /v1/chat/completions is
// answered by the next scripted step (a tool call or a final answer), and recorded, so tests can
// assert exactly what the model was shown. Loopback only.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ChatRequest {
  model: string;
  messages: { role: string; content: unknown; tool_calls?: unknown[]; tool_call_id?: string }[];
  tools?: { function: { name: string } }[];
}

export type ScriptStep = (request: ChatRequest) => {
  toolCalls?: { name: string; args: Record<string, unknown> }[];
  content?: string;
  /** Never answer (a hung model); the connection ends when the stand-in closes. */
  hang?: boolean;
};

export interface LlmStandIn {
  /** For OPENAI_BASE_URL. */
  baseUrl: string;
  requests: ChatRequest[];
  /** Raw request bodies, for "nothing leaked" assertions. */
  rawBodies: string[];
  script(steps: ScriptStep[]): void;
  close(): Promise<void>;
}

/** The JSON returned by the newest tool message for `tool` in a request. */
export function lastToolResult(request: ChatRequest, tool: string): unknown {
  const callIds = new Map<string, string>();
  for (const m of request.messages)
    for (const c of (m.tool_calls ?? []) as { id: string; function: { name: string } }[])
      callIds.set(c.id, c.function.name);
  const results = request.messages.filter((m) => m.role === "tool" && callIds.get(m.tool_call_id ?? "") === tool);
  const last = results.at(-1);
  if (!last) throw new Error(`no ${tool} result in the request`);
  return JSON.parse(typeof last.content === "string" ? last.content : JSON.stringify(last.content));
}

export async function startLlmStandIn(): Promise<LlmStandIn> {
  const requests: ChatRequest[] = [];
  const rawBodies: string[] = [];
  let steps: ScriptStep[] = [];
  let seq = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      if (!req.url?.endsWith("/chat/completions")) {
        res.writeHead(404).end();
        return;
      }
      rawBodies.push(raw);
      const request = JSON.parse(raw) as ChatRequest;
      requests.push(request);
      const step = steps.shift();
      const out = step ? step(request) : { content: "(script exhausted)" };
      if (out.hang) return;
      const id = `chatcmpl-${++seq}`;
      const toolCalls = out.toolCalls?.map((c, i) => ({
        id: `call_${seq}_${i}`,
        type: "function",
        function: { name: c.name, arguments: JSON.stringify(c.args) },
      }));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                content: out.content ?? null,
                ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
              },
              finish_reason: toolCalls?.length ? "tool_calls" : "stop",
            },
          ],
          usage: { prompt_tokens: 100 + seq, completion_tokens: 20, total_tokens: 120 + seq },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    rawBodies,
    script: (s) => {
      steps = [...s];
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
