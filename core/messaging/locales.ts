// Every user-facing text lives in Fluent files (`bot/telegram/locales/<locale>.ftl`). Core renders
// outbound messages with the same files through this small translator, so the Telegram bot, the
// dry-run channel and the demo say exactly the same words.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FluentBundle, FluentResource, type FluentVariable } from "@fluent/bundle";

export const SUPPORTED_LOCALES = ["en", "ru"] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

/** The locale files folder. */
export const LOCALES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bot/telegram/locales");

export type TranslateVars = Record<string, string | number>;
/** Looks a message up by key; unknown keys throw (a missing text is a bug, not a blank). */
export type Translator = (locale: string, key: string, vars?: TranslateVars) => string;

/** Maps Telegram's `language_code` (or a stored locale) to a supported locale. */
export function pickLocale(code: string | null | undefined, fallback: Locale = "en"): Locale {
  const base = (code ?? "").toLowerCase().split(/[-_]/)[0];
  return (SUPPORTED_LOCALES as readonly string[]).includes(base ?? "") ? (base as Locale) : fallback;
}

export interface TranslatorOptions {
  /**
   * The business's name (BRAND_NAME): replaces the `-brand` term every locale file defines, so
   * each text names the business. Texts only place it where no grammatical case changes it.
   */
  brand?: string;
}

/**
 * Builds a translator from the `.ftl` files in `dir`.
 * @throws Error when a file has syntax errors or a key is missing in every locale.
 */
export function loadTranslator(dir: string = LOCALES_DIR, options: TranslatorOptions = {}): Translator {
  const bundles = new Map<Locale, FluentBundle>();
  for (const locale of SUPPORTED_LOCALES) {
    const bundle = new FluentBundle(locale, { useIsolating: false });
    const errors = bundle.addResource(new FluentResource(readFileSync(path.join(dir, `${locale}.ftl`), "utf8")));
    if (options.brand !== undefined) {
      // Config refuses braces and line breaks, so the name is a plain Fluent text.
      const brand = new FluentResource(`-brand = ${options.brand.replace(/[{}\n]/g, "")}`);
      errors.push(...bundle.addResource(brand, { allowOverrides: true }));
    }
    if (errors.length) throw new Error(`${locale}.ftl: ${errors.map((e) => e.message).join("; ")}`);
    bundles.set(locale, bundle);
  }
  return (locale, key, vars = {}) => {
    for (const candidate of [pickLocale(locale), "en" as Locale]) {
      const bundle = bundles.get(candidate)!;
      const message = bundle.getMessage(key);
      if (message?.value) {
        const errors: Error[] = [];
        const text = bundle.formatPattern(message.value, vars as Record<string, FluentVariable>, errors);
        if (errors.length)
          throw new Error(`locale ${candidate} key ${key}: ${errors.map((e) => e.message).join("; ")}`);
        return text;
      }
    }
    throw new Error(`no text for key ${key}`);
  };
}

const shared = new Map<string, Translator>();
/** The translator over the project's locale files, loaded once per brand name. */
export function defaultTranslator(options: TranslatorOptions = {}): Translator {
  const key = options.brand ?? "";
  let translator = shared.get(key);
  if (!translator) {
    translator = loadTranslator(LOCALES_DIR, options);
    shared.set(key, translator);
  }
  return translator;
}
