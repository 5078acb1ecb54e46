// The erasure suppression list. After a customer asked to be forgotten, what identified them to
// the shop (its customer number, their e-mail, their phone) is kept only as keyed one-way digests,
// HMAC-SHA256 of "kind:value", so that importing the shop's file again skips them instead of
// creating them again, while the store cannot say who they were. The key never sits beside the
// digests: it is ERASURE_KEY from the configuration, or else a key this installation generated
// once and keeps in `install_secrets`. A digest can only be checked by whoever holds the key.
import { createHmac, randomBytes } from "node:crypto";
import type { Database, DatabaseSession, Prisma, PrismaClient } from "../db/client";
import { normalizeId } from "../import/values";
import { normalisePhone, type PhoneRegion } from "../linking/phone";

type Db = PrismaClient | Prisma.TransactionClient;
/** Where the list is read: a Prisma client or transaction, or an import's own session. */
type Reader = Db | Pick<DatabaseSession, "query">;

/** How the list is keyed and how phones are read (from the configuration). */
export interface ErasureSettings {
  /** ERASURE_KEY; unset: the key generated once for this installation. */
  key?: string;
  /** PHONE_DEFAULT_REGION: phones are compared in E.164. */
  phoneRegion?: PhoneRegion;
}

/** What identifies a person to the shop; any may be missing. */
export interface PersonIdentifiers {
  externalId?: string | null;
  email?: string | null;
  phone?: string | null;
}

/** Thrown when the configured key is not the one the list was built with (no digest would match). */
export class ErasureKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ErasureKeyError";
  }
}

const GENERATED = "erasure_key";
const CHECK = "erasure_key_check";

/** The forms compared: the shop's number as the import stores it, e-mail lower-cased, phone in E.164. */
function canonical(kind: keyof PersonIdentifiers, value: string, phoneRegion?: PhoneRegion): string {
  const text = value.normalize("NFC").trim();
  switch (kind) {
    case "externalId":
      return normalizeId(text);
    case "email":
      return text.toLowerCase();
    case "phone":
      return normalisePhone(text, phoneRegion) ?? text.replace(/[^\d+]/g, "");
  }
}

const KIND_NAMES = { externalId: "external_id", email: "email", phone: "phone" } as const;

/** A keyed list: digests of identifiers, and whether anything is on it at all. */
export interface SuppressionList {
  /** Nobody has been erased yet: there is nothing to check. */
  readonly empty: boolean;
  /** The digests of the identifiers given, with their kind. */
  digests(person: PersonIdentifiers): { digest: string; kind: string }[];
}

function keyedList(key: Buffer, empty: boolean, phoneRegion?: PhoneRegion): SuppressionList {
  return {
    empty,
    digests(person) {
      const out: { digest: string; kind: string }[] = [];
      for (const kind of ["externalId", "email", "phone"] as const) {
        const value = person[kind];
        if (!value?.trim()) continue;
        const name = KIND_NAMES[kind];
        const digest = createHmac("sha256", key)
          .update(`${name}:${canonical(kind, value, phoneRegion)}`)
          .digest("hex");
        out.push({ digest, kind: name });
      }
      return out;
    },
  };
}

const checkValue = (key: string) => createHmac("sha256", key).update("erasure-key-check").digest("hex");

/**
 * The list's key: ERASURE_KEY when configured, else the generated one. With `create`, the
 * first erasure records which it is (the generated key itself, or a check digest of the
 * configured one).
 * @returns null when there is no key yet and `create` is false (nobody was erased).
 * @throws ErasureKeyError when the configuration changed since the list was built.
 */
async function listKey(db: Database, settings: ErasureSettings, create: boolean): Promise<Buffer | null> {
  const read = async () => {
    const rows = await db.prisma.installSecret.findMany({ where: { name: { in: [GENERATED, CHECK] } } });
    return new Map(rows.map((r) => [r.name, r.value]));
  };
  let stored = await read();
  if (create && !stored.has(GENERATED) && !stored.has(CHECK)) {
    const row = settings.key
      ? { name: CHECK, value: checkValue(settings.key) }
      : { name: GENERATED, value: randomBytes(32).toString("base64") };
    // Two first erasures at once: one insert wins, both read what it wrote.
    await db.prisma.$executeRaw`
      INSERT INTO install_secrets (name, value) VALUES (${row.name}, ${row.value}) ON CONFLICT (name) DO NOTHING`;
    stored = await read();
  }
  if (settings.key) {
    if (stored.has(GENERATED))
      throw new ErasureKeyError(
        "ERASURE_KEY is set, but the erasure suppression list was built with this installation's generated key: unset ERASURE_KEY (the digests cannot be moved to another key)",
      );
    const check = stored.get(CHECK);
    if (check === undefined) return create ? null : Buffer.from(settings.key, "utf8");
    if (check !== checkValue(settings.key))
      throw new ErasureKeyError(
        "ERASURE_KEY is not the key the erasure suppression list was built with: set it back (the digests cannot be moved to another key)",
      );
    return Buffer.from(settings.key, "utf8");
  }
  if (stored.has(CHECK))
    throw new ErasureKeyError(
      "the erasure suppression list was built with ERASURE_KEY, which is not set: set it as it was",
    );
  const generated = stored.get(GENERATED);
  return generated === undefined ? null : Buffer.from(generated, "base64");
}

/**
 * The list as imports check it. Reads no key while nobody has been erased.
 * @throws ErasureKeyError when ERASURE_KEY changed since the list was built.
 */
export async function loadSuppressionList(db: Database, settings: ErasureSettings = {}): Promise<SuppressionList> {
  const [row] = await db.prisma.$queryRaw<{ any: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM erasure_suppressions) AS any`;
  if (!row?.any) return keyedList(Buffer.alloc(0), true);
  const key = await listKey(db, settings, false);
  // Digests there but no key to check them with: the key was lost; nothing would match.
  if (!key) throw new ErasureKeyError("the erasure suppression list has entries but its key is missing");
  return keyedList(key, false, settings.phoneRegion);
}

/**
 * The list as erasure writes to it (the key is created on the first erasure).
 * @throws ErasureKeyError when ERASURE_KEY changed since the list was built.
 */
export async function suppressionListForErasure(
  db: Database,
  settings: ErasureSettings = {},
): Promise<SuppressionList> {
  const key = await listKey(db, settings, true);
  if (!key) throw new ErasureKeyError("the erasure suppression list's key could not be stored");
  return keyedList(key, false, settings.phoneRegion);
}

/** Puts a person's identifiers on the list (inside the erasure's transaction). */
export async function suppress(tx: Db, list: SuppressionList, person: PersonIdentifiers, now: Date): Promise<void> {
  const digests = list.digests(person);
  if (digests.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO erasure_suppressions (digest, kind, created_at)
    SELECT d, k, ${now} FROM unnest(${digests.map((d) => d.digest)}::text[], ${digests.map((d) => d.kind)}::text[]) AS t(d, k)
    ON CONFLICT (digest) DO NOTHING`;
}

/** Of the digests given, those on the list. */
export async function digestsOnList(reader: Reader, digests: string[]): Promise<Set<string>> {
  if (digests.length === 0) return new Set();
  const sql = "SELECT digest FROM erasure_suppressions WHERE digest = ANY($1::text[])";
  const rows =
    "query" in reader
      ? await reader.query<{ digest: string }>(sql, [digests])
      : await reader.$queryRawUnsafe<{ digest: string }[]>(sql, digests);
  return new Set(rows.map((r) => r.digest));
}

/**
 * Splits `items` into those whose person is on the list and the rest. One query per call.
 * @param identify what identifies each item's person
 */
export async function partitionSuppressed<T>(
  db: Reader,
  list: SuppressionList,
  items: T[],
  identify: (item: T) => PersonIdentifiers,
): Promise<{ kept: T[]; suppressed: T[] }> {
  if (list.empty || items.length === 0) return { kept: items, suppressed: [] };
  const digests = items.map((item) => list.digests(identify(item)).map((d) => d.digest));
  const found = await digestsOnList(db, [...new Set(digests.flat())]);
  if (found.size === 0) return { kept: items, suppressed: [] };
  const kept: T[] = [];
  const suppressed: T[] = [];
  items.forEach((item, i) => (digests[i]!.some((d) => found.has(d)) ? suppressed : kept).push(item));
  return { kept, suppressed };
}
