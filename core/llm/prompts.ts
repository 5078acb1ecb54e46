// Prompt templates live in `prompts/` as plain files with named variables `{{name}}`, versioned
// with the code. Filling fails loudly on a missing variable so a renamed field never reaches the
// model as a literal `{{...}}`.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The prompts folder at the project root. */
export const PROMPTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../prompts");

/** Reads a prompt by name, e.g. `"offer"` -> `prompts/offer.md`. */
export type PromptSource = (name: string) => string;

const cache = new Map<string, string>();

/**
 * Loads `prompts/<name>.md` (cached).
 * @throws Error when the name is not a plain file name or the file is missing.
 */
export function loadPrompt(name: string, dir: string = PROMPTS_DIR): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) throw new Error(`invalid prompt name: ${name}`);
  const file = path.join(dir, `${name}.md`);
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(file, "utf8");
    cache.set(file, text);
  }
  return text;
}

export class MissingPromptVariableError extends Error {
  constructor(readonly missing: string[]) {
    super(`prompt variables missing: ${missing.join(", ")}`);
    this.name = "MissingPromptVariableError";
  }
}

/**
 * Replaces every `{{name}}` with `vars[name]`.
 * @throws MissingPromptVariableError listing every variable the template uses and `vars` lacks.
 */
export function fillPrompt(template: string, vars: Record<string, string | number>): string {
  const missing = new Set<string>();
  const filled = template.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      missing.add(name);
      return "";
    }
    return String(value);
  });
  if (missing.size) throw new MissingPromptVariableError([...missing]);
  return filled;
}
