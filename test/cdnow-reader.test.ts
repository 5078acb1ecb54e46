import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cdnowCalibration, readCdnow } from "./helpers/cdnow";

const dir = mkdtempSync(path.join(tmpdir(), "cdnow-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("CDNOW files", () => {
  it("merges same-day purchases and builds the paper's weekly summaries", async () => {
    const file = path.join(dir, "master.txt");
    writeFileSync(
      file,
      [
        " customer_id  date number_of_cds  dollar_value",
        " 00001 19970101  1   11.77",
        " 00001 19970101  2   20.00",
        " 00001 19970115  1   10.00",
        " 00001 19970129  3   30.00",
        " 00001 19971201  1   12.00",
        " 00002 19970930  1   9.00",
        " 00003 19971005  1   9.00",
      ].join("\n"),
    );
    const purchases = await readCdnow(file);
    expect(purchases).toHaveLength(6);
    expect(purchases[0]).toMatchObject({ customer: "00001", cds: 3, dollars: 31.77 });
    const [one, two, ...rest] = cdnowCalibration(purchases);
    expect(rest).toHaveLength(0); // 00003 first bought after the calibration period
    expect(one).toMatchObject({ customer: "00001", x: 2, tx: 4, T: 272 / 7, meanRepeatSpend: 20, holdoutPurchases: 1 });
    expect(two).toMatchObject({ customer: "00002", x: 0, tx: 0, T: 0, holdoutPurchases: 0 });
  });

  it("reads the sample layout (master id, sample id, date, cds, dollars)", async () => {
    const file = path.join(dir, "sample.txt");
    writeFileSync(file, " 00004 0001 19970101  2   29.33\n 00004 0001 19970118  2   29.73\n");
    const [c] = cdnowCalibration(await readCdnow(file));
    expect(c).toMatchObject({ customer: "00004", x: 1, meanRepeatSpend: 29.73 });
    expect(c!.tx).toBeCloseTo(17 / 7, 12);
  });
});
