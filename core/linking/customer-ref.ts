import type { Database } from "../db/client";

/** Digits only: "+1 (555) 010-2030" -> "15550102030". */
export function normalizePhone(phone: string): string {
  return phone.replace(/\D/g, "");
}

/**
 * Finds a customer who is not erased by external id, e-mail (case-insensitive) or phone
 * (digits compared exactly). Returns null when nothing or more than one customer matches.
 */
export async function findCustomerByRef(db: Database, ref: string): Promise<{ id: number; externalId: string } | null> {
  const trimmed = ref.trim();
  if (!trimmed) return null;
  const byExternal = await db.prisma.customer.findUnique({
    where: { externalId: trimmed },
    select: { id: true, externalId: true, erasedAt: true },
  });
  if (byExternal && !byExternal.erasedAt) return { id: byExternal.id, externalId: byExternal.externalId };
  if (trimmed.includes("@")) {
    const rows = await db.prisma.customer.findMany({
      where: { email: { equals: trimmed, mode: "insensitive" }, erasedAt: null },
      select: { id: true, externalId: true },
      take: 2,
    });
    return rows.length === 1 ? rows[0]! : null;
  }
  const digits = normalizePhone(trimmed);
  if (digits.length >= 6) {
    const rows = await findByPhoneDigits(db, digits);
    return rows.length === 1 ? rows[0]! : null;
  }
  return null;
}

export async function findByPhoneDigits(db: Database, digits: string): Promise<{ id: number; externalId: string }[]> {
  return db.prisma.$queryRaw<{ id: number; externalId: string }[]>`
    SELECT id, external_id AS "externalId" FROM customers
    WHERE erased_at IS NULL AND phone IS NOT NULL AND regexp_replace(phone, '\\D', '', 'g') = ${digits}
    LIMIT 2`;
}
