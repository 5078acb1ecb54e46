// What a customer's free text is, before anything is written: small talk (a greeting, thanks, an
// emoji) gets a short answer and opens no ticket; everything else is a request for a person. Keyword
// rules in English and Russian; whether a request is a complaint (and its themes) comes from
// `tagThemes`, which uses the LLM when one is configured and these rules' sibling when not.

export type SmallTalk = "greeting" | "thanks" | "emoji";
export type Intent = SmallTalk | "request";

const GREETING =
  /^(hi|hello|hey|hiya|good (morning|afternoon|evening)|привет(ик)?|здравствуй(те)?|добрый (день|вечер)|доброе утро|хай)$/u;
const THANKS =
  /^((many )?thanks( a lot| so much)?|thank you( very much| so much)?|thx|ty|cheers|great|ok(ay)?|cool|nice|perfect|got it|спасибо( большое| огромное)?|благодарю|спс|ок|хорошо|понятно|отлично|супер|класс)$/u;
// Pictographs, modifiers, joiners and variation selectors only: "👍", "🙏🏻", "❤️".
const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Emoji_Component}|\u200d|\ufe0f|\s)+$/u;

/** Lower-cased, trimmed, trailing punctuation and emoji dropped: "Thanks!!! 🙏" -> "thanks". */
function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/\p{Extended_Pictographic}|\p{Emoji_Modifier}|\u200d|\ufe0f/gu, " ")
    .replace(/[\s!.,)(:;-]+/gu, " ")
    .trim()
    .replace(/ё/g, "е");
}

/**
 * Classifies one customer text by keyword rules.
 * @returns `request` for anything that is not plainly small talk (a question, a complaint).
 */
export function classifyIntent(text: string): Intent {
  const trimmed = text.trim();
  if (!trimmed) return "emoji";
  if (/[0-9]/.test(trimmed) && !/\p{Extended_Pictographic}/u.test(trimmed)) return "request";
  if (EMOJI_ONLY.test(trimmed) && !/^[\s0-9#*]+$/u.test(trimmed)) return "emoji";
  const words = normalise(trimmed);
  if (trimmed.includes("?")) return "request";
  if (GREETING.test(words)) return "greeting";
  if (THANKS.test(words)) return "thanks";
  // "Hi, thanks!" and similar two-part pleasantries.
  const parts = words.split(" ");
  if (parts.length <= 4 && parts.every((w) => GREETING.test(w) || THANKS.test(w) || w === "you" || w === "вам"))
    return "thanks";
  return "request";
}

/** Whether a text reads as a question (so it is not the answer to one we asked). */
export function isQuestion(text: string): boolean {
  return /\?\s*\S{0,3}\s*$/u.test(text.trim()) || /\?/u.test(text);
}
