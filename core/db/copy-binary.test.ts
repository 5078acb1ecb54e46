import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeEachDatabase } from "../../test/helpers/db";
import type { Database } from "./client";
import { BinaryCopyWriter, maxUtf8Bytes } from "./copy-binary";

describeEachDatabase("binary COPY", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    await db.execScript(`CREATE TABLE copy_probe (n int, x float8, at timestamp(3), label text, doc json)`);
  });
  afterAll(() => db?.close());

  it("stores ints, doubles, NULLs, timestamps, any text and json (given as UTF-8 bytes) exactly as written", async () => {
    const rows = [
      {
        n: -2147483648,
        x: 0.1 + 0.2,
        at: new Date("2026-01-01T00:00:00.000Z"),
        label: "Can't lose them",
        doc: [{ text: 'quote " and \\ backslash\ttab' }],
      },
      { n: null, x: Number.NaN, at: new Date("1999-12-31T23:59:59.999Z"), label: "ёлка 🎄", doc: [] },
      {
        n: 7,
        x: -1e-300,
        at: new Date("2000-01-01T00:00:00.001Z"),
        label: "",
        doc: { nested: { deep: [1, 2.5, null] } },
      },
    ];
    // A tiny chunk size makes the writer hand over many chunks and grow for a large row.
    const out = new BinaryCopyWriter(64);
    const chunks: Buffer[] = [];
    for (const r of rows) {
      const doc = JSON.stringify(r.doc);
      out
        .row(5, 5 * 4 + 4 + 8 + 8 + maxUtf8Bytes(r.label) + maxUtf8Bytes(doc))
        .int4(r.n)
        .float8(r.x)
        .timestamp(r.at)
        .text(r.label)
        .bytes(Buffer.from(doc, "utf8"));
      if (out.full) chunks.push(out.take());
    }
    chunks.push(out.end());
    expect(chunks.length).toBeGreaterThan(2);
    await db.copyFrom(`COPY copy_probe (n, x, at, label, doc) FROM STDIN WITH (FORMAT binary)`, chunks);

    const stored = await db.queryRows<{ n: number | null; x: number | null; at: string; label: string; doc: string }>(
      `SELECT n, x, to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS at, label, doc::text AS doc FROM copy_probe ORDER BY at DESC`,
    );
    expect(stored).toEqual([
      {
        n: -2147483648,
        x: 0.30000000000000004,
        at: "2026-01-01T00:00:00.000",
        label: "Can't lose them",
        doc: JSON.stringify(rows[0]!.doc),
      },
      { n: 7, x: -1e-300, at: "2000-01-01T00:00:00.001", label: "", doc: JSON.stringify(rows[2]!.doc) },
      { n: null, x: null, at: "1999-12-31T23:59:59.999", label: "ёлка 🎄", doc: "[]" },
    ]);
  });

  it("stores bigints exactly across the 32-bit halves, negative and up to 2^53", async () => {
    await db.execScript(`CREATE TABLE copy_probe_int8 (i int, v bigint)`);
    const values = [
      0,
      -0,
      1,
      -1,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32,
      -(2 ** 32),
      2 ** 32 + 1,
      123_456_789_012_345,
      -(2 ** 53) + 1,
      2 ** 53 - 1,
    ];
    const out = new BinaryCopyWriter();
    values.forEach((v, i) =>
      out
        .row(2, 8 + 12)
        .int4(i)
        .int8(v),
    );
    await db.copyFrom(`COPY copy_probe_int8 (i, v) FROM STDIN WITH (FORMAT binary)`, [out.end()]);
    const stored = await db.queryRows<{ v: string }>(`SELECT v::text AS v FROM copy_probe_int8 ORDER BY i`);
    expect(stored.map((r) => r.v)).toEqual(values.map((v) => String(v === 0 ? 0 : v)));
  });

  it("writes fields encoded once (BinaryCopyWriter.field) the same as fields written per row", async () => {
    await db.execScript("TRUNCATE copy_probe");
    const at = new Date("2026-03-04T05:06:07.089Z");
    const fields = {
      n: BinaryCopyWriter.field((w) => w.int4(42)),
      none: BinaryCopyWriter.field((w) => w.int4(null)),
      at: BinaryCopyWriter.field((w) => w.timestamp(at)),
      label: BinaryCopyWriter.field((w) => w.text("ёлка")),
    };
    const out = new BinaryCopyWriter(64);
    const chunks: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      out
        .row(5, 200)
        .encoded(i % 2 ? fields.n : fields.none)
        .float8(i)
        .encoded(fields.at)
        .encoded(fields.label)
        .text("[]");
      if (out.full) chunks.push(out.take());
    }
    chunks.push(out.end());
    await db.copyFrom(`COPY copy_probe (n, x, at, label, doc) FROM STDIN WITH (FORMAT binary)`, chunks);
    const stored = await db.queryRows<{ n: number | null; x: number; at: string; label: string }>(
      `SELECT n, x, to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS at, label FROM copy_probe ORDER BY x`,
    );
    expect(stored).toHaveLength(20);
    expect(stored[3]).toEqual({ n: 42, x: 3, at: "2026-03-04T05:06:07.089", label: "ёлка" });
    expect(stored[4]).toEqual({ n: null, x: 4, at: "2026-03-04T05:06:07.089", label: "ёлка" });
  });

  it("rejects malformed json and writes no row of the batch", async () => {
    const out = new BinaryCopyWriter();
    out.row(5, 200).int4(1).float8(1).timestamp(new Date()).text("ok").text("[]");
    out.row(5, 200).int4(2).float8(2).timestamp(new Date()).text("bad").text("{not json");
    const before = await db.queryRows<{ c: number }>(`SELECT count(*)::int AS c FROM copy_probe`);
    await expect(
      db.copyFrom(`COPY copy_probe (n, x, at, label, doc) FROM STDIN WITH (FORMAT binary)`, [out.end()]),
    ).rejects.toThrow(/json/i);
    expect(await db.queryRows<{ c: number }>(`SELECT count(*)::int AS c FROM copy_probe`)).toEqual(before);
  });
});
