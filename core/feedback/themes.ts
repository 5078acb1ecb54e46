// Tags free-text feedback with themes and says whether it is a complaint: by the LLM when one is
// configured (prompt `prompts/themes.md`, answer parsed with zod, unknown themes dropped), by
// keyword rules in English and Russian otherwise or when the model fails.
import { z } from "zod";
import { firstJsonObject, untrusted, type ChatModel } from "../llm/chat-model";
import { fillPrompt, loadPrompt, type PromptSource } from "../llm/prompts";
import type { Logger } from "../log";

export const THEMES = [
  "delivery",
  "price",
  "quality",
  "service",
  "staff",
  "product_range",
  "website",
  "returns",
  "stock",
] as const;
export type Theme = (typeof THEMES)[number];

export interface ThemeTagging {
  themes: Theme[];
  complaint: boolean;
  by: "llm" | "keywords";
}

// Stems, matched at word starts, so "delivered", "доставили" and "доставка" all count.
const KEYWORDS: Record<Theme, string[]> = {
  delivery: [
    "deliver",
    "shipping",
    "shipped",
    "courier",
    "parcel",
    "arriv",
    "late",
    "доставк",
    "достав",
    "курьер",
    "посылк",
    "опозд",
    "привез",
  ],
  price: ["price", "expensive", "cost", "overpric", "cheap", "discount", "цен", "дорог", "стоимост", "скидк", "дешев"],
  quality: [
    "quality",
    "broken",
    "damag",
    "defect",
    "scratch",
    "faulty",
    "качеств",
    "сломан",
    "брак",
    "поврежд",
    "царапин",
    "испорч",
    "разбит",
    "трещин",
  ],
  service: [
    "service",
    "support",
    "help",
    "wait",
    "queue",
    "response",
    "сервис",
    "поддержк",
    "помощ",
    "жда",
    "очеред",
    "ответ",
  ],
  staff: [
    "staff",
    "rude",
    "cashier",
    "manager",
    "employee",
    "seller",
    "персонал",
    "груб",
    "кассир",
    "менеджер",
    "сотрудник",
    "продав",
  ],
  product_range: ["choice", "selection", "range", "variety", "assortment", "ассортимент", "выбор"],
  website: ["website", "site", "app", "checkout", "login", "page", "сайт", "приложени", "оформлени", "страниц"],
  returns: ["return", "refund", "exchange", "money back", "возврат", "вернуть", "верните", "обмен", "деньги назад"],
  stock: ["out of stock", "sold out", "unavailable", "нет в наличии", "закончил", "распродан"],
};

const COMPLAINT_WORDS = [
  "complain",
  "complaint",
  "unhappy",
  "disappoint",
  "terrible",
  "awful",
  "worst",
  "never again",
  "angry",
  "unacceptable",
  "broken",
  "refund",
  "not work",
  "doesn't work",
  "didn't arrive",
  "wrong",
  "damaged",
  "arrived late",
  "жалоб",
  "недовол",
  "поврежд",
  "опоздал",
  "ужасн",
  "отвратит",
  "разочаров",
  "безобраз",
  "худш",
  "не работает",
  "сломал",
  "не пришл",
  "не доставил",
  "верните",
  "возврат",
  "обман",
];

// One regex per list, compiled once: a stem matches at a word start (\p{L} boundaries, so
// Cyrillic words split correctly too).
function stemsRegex(stems: string[]): RegExp {
  const escaped = stems.map((stem) => stem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`(^|[^\\p{L}])(${escaped.join("|")})`, "iu");
}

const THEME_PATTERNS = THEMES.map((theme) => [theme, stemsRegex(KEYWORDS[theme])] as const);

const COMPLAINT_PATTERN = stemsRegex(COMPLAINT_WORDS);

/** Keyword rules, EN and RU. */
export function tagThemesByKeywords(text: string): ThemeTagging {
  const lower = text.toLowerCase();
  const themes = THEME_PATTERNS.filter(([, pattern]) => pattern.test(lower)).map(([theme]) => theme);
  const complaint = COMPLAINT_PATTERN.test(lower);
  return { themes, complaint, by: "keywords" };
}

const modelAnswer = z.object({ themes: z.array(z.string()).max(10), complaint: z.boolean() });

/**
 * Tags `text` by the model when given, by keywords otherwise. The model sees only the text
 * (marked untrusted), never who wrote it.
 */
export async function tagThemes(
  text: string,
  options: { chatModel?: ChatModel; prompts?: PromptSource; log?: Logger } = {},
): Promise<ThemeTagging> {
  if (!options.chatModel) return tagThemesByKeywords(text);
  try {
    const prompt = fillPrompt((options.prompts ?? loadPrompt)("themes"), {
      themes: THEMES.join(", "),
      text: untrusted(text),
    });
    const completion = await options.chatModel.complete([{ role: "user", content: prompt }], {
      maxTokens: 120,
      temperature: 0,
      json: true,
    });
    const parsed = modelAnswer.parse(firstJsonObject(completion.text));
    const themes = THEMES.filter((theme) => parsed.themes.map((t) => t.toLowerCase().trim()).includes(theme));
    return { themes, complaint: parsed.complaint, by: "llm" };
  } catch (error) {
    options.log?.warn(
      { err: error instanceof Error ? error.message : String(error) },
      "theme tagging by model failed, using keywords",
    );
    return tagThemesByKeywords(text);
  }
}
