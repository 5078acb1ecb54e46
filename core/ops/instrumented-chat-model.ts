// A chat model that counts its calls and their latency; wraps whichever model start-up chose.
import type { ChatModel } from "../llm/chat-model";
import { secondsSince, type Metrics } from "./metrics";

/** `model` with every `complete` call counted (ok or error) and timed into `metrics`. */
export function instrumentChatModel(model: ChatModel, metrics: Metrics): ChatModel {
  return {
    get name() {
      return model.name;
    },
    async complete(messages, options) {
      const started = performance.now();
      try {
        const completion = await model.complete(messages, options);
        metrics.llmCall(model.name, "ok", secondsSince(started));
        return completion;
      } catch (error) {
        metrics.llmCall(model.name, "error", secondsSince(started));
        throw error;
      }
    },
  };
}
