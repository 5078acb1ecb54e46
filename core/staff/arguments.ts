// What staff type, read the same way in Slack and in the CLI: segment names as people write them
// ("champions", "At risk", "cant lose them", a typo answered with a did-you-mean) and calendar
// dates that exist (2026-02-30 is refused, not read as 2 March).
import { distance } from "fastest-levenshtein";
import { SEGMENTS, type Segment } from "../analytics/segments";
import { err, ok, type Result } from "../result";

export interface UnknownSegment {
  type: "unknown_segment";
  text: string;
  /** The closest name when the text looks like a typo of it. */
  suggestion?: Segment;
  /** What to tell the person: the did-you-mean, or the list of valid names. */
  message: string;
}

/** Lower case, straight or curly apostrophes dropped, quotes and any run of separators as one space. */
function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/['’‘`]/g, "")
    .replace(/["“”«»]/g, " ")
    .replace(/[\s_\-.]+/g, " ")
    .trim();
}

const BY_NORMAL = new Map<string, Segment>(SEGMENTS.map((s) => [normalise(s), s]));
/** Names people shorten: "can't lose" for "Can't lose them", "potential loyalists" and plural forms. */
const SHORT_FORMS = new Map<string, Segment>([
  ["cant lose", "Can't lose them"],
  ["potential loyalists", "Potential loyalist"],
  ["potential", "Potential loyalist"],
  ["champion", "Champions"],
  ["sleeping", "About to sleep"],
  ["needs attention", "Need attention"],
]);

/** The list staff can choose from, as a message names it. */
export const SEGMENT_LIST = SEGMENTS.join(", ");

/**
 * The segment a person meant: case, spaces, dashes, underscores, quotes and apostrophes do not
 * matter. A name within two edits of a segment (or a third of its length) is answered with a
 * did-you-mean, never read as that segment; anything else with the list of names.
 */
export function resolveSegment(text: string): Result<Segment, UnknownSegment> {
  const key = normalise(text);
  const found = BY_NORMAL.get(key) ?? SHORT_FORMS.get(key);
  if (found) return ok(found);
  let best: { segment: Segment; edits: number } | undefined;
  for (const [normal, segment] of [...BY_NORMAL, ...SHORT_FORMS]) {
    const edits = distance(key, normal);
    if (!best || edits < best.edits) best = { segment, edits };
  }
  const shown = text.trim().slice(0, 40);
  if (best && key.length > 0 && best.edits <= Math.max(2, Math.floor(key.length / 3)))
    return err({
      type: "unknown_segment",
      text: shown,
      suggestion: best.segment,
      message: `There is no segment "${shown}". Did you mean "${best.segment}"? Segments: ${SEGMENT_LIST}.`,
    });
  return err({
    type: "unknown_segment",
    text: shown,
    message: `There is no segment "${shown}". Segments: ${SEGMENT_LIST}.`,
  });
}

/**
 * The segment at the start of `words` (names have up to three words), longest match first, and
 * the words after it; the name may be quoted. Undefined when no leading words name a segment.
 */
export function leadingSegment(words: string[]): { segment: Segment; rest: string[] } | undefined {
  for (let n = Math.min(3, words.length); n >= 1; n--) {
    const found = resolveSegment(words.slice(0, n).join(" "));
    if (found.ok) return { segment: found.value, rest: words.slice(n) };
  }
  return undefined;
}

/**
 * A calendar day written YYYY-MM-DD, as UTC midnight; null when the text is not one or the day
 * does not exist (2026-02-30, 2026-13-01).
 */
export function parseIsoDay(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return date;
}

/**
 * A date or an instant as staff type one: YYYY-MM-DD (UTC midnight, the day must exist) or a full
 * ISO 8601 timestamp with its time zone. Null when it is neither.
 */
export function parseDateOrInstant(text: string): Date | null {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) return parseIsoDay(t);
  const m = /^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (!m || !parseIsoDay(m[1]!)) return null;
  const date = new Date(t);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Splits a command line into words the way a shell would for quotes: "At risk" (straight or
 * curly quotes, as Slack may send them) stays one word.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|“([^”]*)”|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(pattern)) words.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? "");
  return words.filter((w) => w.length > 0);
}
