// streamTable splits plain rows itself and hands the rest of a file to csv-parse at its first
// quote or other line end: every file must read exactly as csv-parse alone reads it (readTable),
// rows, line numbers and unreadable rows alike.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readTable, streamTable } from "./decode";

const dir = mkdtempSync(path.join(os.tmpdir(), "decode-"));
let fileNo = 0;

async function bothWays(content: string) {
  const file = path.join(dir, `t${++fileNo}.csv`);
  writeFileSync(file, content);
  const whole = await readTable(file);
  const stream = await streamTable(file);
  const records = [];
  for await (const batch of stream.batches) records.push(...batch);
  stream.close();
  return {
    whole: { header: whole.header, records: whole.records, errors: whole.errors },
    stream: { header: stream.header, records, errors: stream.errors },
  };
}

/** `n` plain rows (over a megabyte from 40,000 on: more than one chunk read). */
const rows = (n: number, end: string, from = 0) =>
  Array.from(
    { length: n },
    (_, i) => `o${from + i},c${(from + i) % 97},2024-01-0${(i % 9) + 1},${i}.5,cat ${i % 7}`,
  ).join(end);

describe("streamTable reads as csv-parse does", () => {
  const cases: [string, string][] = [
    ["LF, last line ended", `id,customer,date,amount,category\n${rows(50_000, "\n")}\n`],
    ["CRLF, last line not ended", `id,customer,date,amount,category\r\n${rows(50_000, "\r\n")}`],
    ["empty lines, short and long rows", `\nid,customer,date\n\n1,a\n2,b,c,d,e\n\n\n3,,\n`],
    [
      "a quoted field with a line break far into the file (LF)",
      `id,customer,date,amount,category\n${rows(45_000, "\n")}\n9,"multi\nline, quoted",2024-01-01,1,x\n${rows(10_000, "\n", 50_000)}\n`,
    ],
    [
      "a quote far into a CRLF file, then an unclosed one",
      `id,customer,date,amount,category\r\n${rows(45_000, "\r\n")}\r\n8,say ""hi"",2024-01-01,1,x\r\n${rows(100, "\r\n", 60_000)}\r\n7,"open,2024-01-01,1,x\r\n${rows(10, "\r\n", 70_000)}`,
    ],
    // Headers as wide as the rows: csv-parse builds an error object for every row of another width.
    [
      "a lone CR among LF line ends",
      `id,customer,date,amount,category\n${rows(30_000, "\n")}\n5,a\rb,2024-01-01,1,x\n6,c,2024-01-01,1,x\n`,
    ],
    [
      "a lone LF among CRLF line ends",
      `id,customer,date,amount,category\r\n${rows(30_000, "\r\n")}\r\n5,a\n6,c,2024-01-01,1,x\r\n7,d,2024-01-01,1,x\r\n`,
    ],
    ["old Mac line ends", `id,customer\r1,a\r2,b\r`],
    ["one line, no line end", `id,customer`],
    ["tabs", `id\tcustomer\n1\ta\n\n2\tb\n`],
  ];
  it.each(cases)("%s", async (_, content) => {
    const { whole, stream } = await bothWays(content);
    expect(stream.records.length).toBe(whole.records.length);
    expect(stream).toEqual(whole);
  });
});
