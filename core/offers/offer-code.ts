// Offer codes a customer can read out at a till or type on a phone: 8 characters from an
// alphabet without look-alikes (no 0/O, 1/I/L), so "8KX4 PMR2" survives being read aloud or
// copied by hand. 31^8 (about 8.5 x 10^11) codes: a collision is rare and the planner's retry
// rounds issue the few it drops.
import { randomInt } from "node:crypto";
import { Prisma } from "../db/client";

/** The code alphabet: digits 2-9 and capital letters except I, L and O. */
export const OFFER_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const OFFER_CODE_LENGTH = 8;

/** A fresh random code. */
export function newOfferCode(): string {
  let code = "";
  for (let i = 0; i < OFFER_CODE_LENGTH; i++) code += OFFER_CODE_ALPHABET[randomInt(OFFER_CODE_ALPHABET.length)];
  return code;
}

/** A code as typed or read back: upper case, spaces and dashes dropped ("8kx4-pmr2" -> "8KX4PMR2"). */
export function normaliseOfferCode(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]+/g, "");
}

/**
 * SQL for a fresh code per row, from `seed` (any text that differs per row, e.g. the campaign
 * seed and the customer id): md5 of it and a random uuid gives 16 bytes, the first 8 pick the
 * characters (the first 8 of the 31 are picked 9 times in 256 against 8: about 39.5 bits a code).
 */
export function offerCodeSql(seed: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`(SELECT string_agg(substr(${OFFER_CODE_ALPHABET}, get_byte(h.b, k) % ${OFFER_CODE_ALPHABET.length} + 1, 1), '' ORDER BY k)
    FROM (SELECT decode(md5(${seed} || ':' || gen_random_uuid()::text), 'hex') AS b) h, generate_series(0, ${OFFER_CODE_LENGTH - 1}) AS k)`;
}
