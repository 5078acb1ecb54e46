import { Command, Option } from "commander";
import { ErasureKeyError } from "../../core/consent/suppression";
import { ImportFileError, importFile, type ImportKind, type ImportReport } from "../../core/import/importer";
import { buildContext, UserError } from "../context";
import { createProgress } from "../progress";

function collectMap(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0 || eq === value.length - 1) throw new UserError(`--map ${value}: expected SOURCE_COLUMN=field`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function registerImportCommands(program: Command): void {
  const imp = program.command("import").description("Import customers and orders from files");
  const define = (kind: ImportKind, description: string) => {
    const cmd = imp
      .command(`${kind} <file>`)
      .description(description)
      .option(
        "--map <source=field>",
        "map a column to a field (repeatable), e.g. --map Kundennummer=externalId",
        collectMap,
        {},
      )
      .option("--strict", "reject the whole file if any row is bad; write nothing", false)
      .option("--delimiter <char>", "CSV delimiter (default: sniffed from the header: , ; tab or |)")
      .option("--encoding <name>", "file encoding, e.g. utf-8, windows-1251, latin1 (default: detected)")
      .option("--date-format <luxon>", "date layout when the inferred one is wrong or ambiguous, e.g. dd.MM.yyyy HH:mm")
      .option("--dry-run", "read, check and summarise the file; write nothing", false)
      .option(
        "--max-rejected <share>",
        "fail (exit 1) when more than this share of rows is rejected, e.g. 5% or 0.05",
        parseShare,
        0.05,
      )
      .option("--batch-size <n>", "rows per transaction (default: 50,000 for orders CSV files, 5,000 otherwise)", (v) =>
        Number.parseInt(v, 10),
      )
      .option("--json", "print the report as JSON", false);
    if (kind === "orders") {
      cmd.addOption(new Option("--format <format>", "file format").choices(["csv", "cdnow"]).default("csv"));
      cmd.option("--create-customers", "create customers that are not in the store yet", false);
      cmd.option("--lines", "the file has one row per product: group rows into orders by order id", false);
      cmd.option("--orders", "the file has one row per order (a repeated order id is an error)", false);
    }
    cmd.action(async (file: string, opts: Record<string, unknown>) => {
      if (opts.lines && opts.orders) throw new UserError("--lines and --orders contradict each other: give one");
      const ctx = await buildContext();
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write(
          "\nstopping after the current batch (Ctrl-C again to quit at once; the open batch rolls back)\n",
        );
        abort.abort();
      };
      process.on("SIGINT", onSigint);
      const progress: { bar: ReturnType<typeof createProgress> | null } = { bar: null };
      try {
        const report = await importFile(ctx.db, {
          kind,
          file,
          format: (opts.format as "csv" | "cdnow" | undefined) ?? "csv",
          map: opts.map as Record<string, string>,
          strict: Boolean(opts.strict),
          delimiter: opts.delimiter as string | undefined,
          encoding: opts.encoding as string | undefined,
          dryRun: Boolean(opts.dryRun),
          maxRejectedShare: opts.maxRejected as number,
          shape: opts.lines ? "lines" : opts.orders ? "orders" : undefined,
          dateFormat: opts.dateFormat as string | undefined,
          batchSize: opts.batchSize as number | undefined,
          createCustomers: Boolean(opts.createCustomers),
          timeZone: ctx.config.business.timeZone,
          now: ctx.now(),
          erasure: ctx.config.erasure,
          signal: abort.signal,
          onProgress: (p) => {
            progress.bar ??= createProgress(`import ${kind}`, p.totalBytes, "rows");
            progress.bar.update(p.bytes, p.rows, p.elapsedMs);
          },
        });
        progress.bar?.stop();
        ctx.log.debug(
          { kind, file, rows: report.rows, rejected: report.rejected, ...report.written },
          "import finished",
        );
        if (!report.dryRun)
          await ctx.db.prisma.auditLog.create({
            data: {
              actor: "cli",
              action: `import.${kind}`,
              details: {
                file,
                rows: report.rows,
                rejected: report.rejected,
                skippedErased: report.skippedErased,
                written: { ...report.written },
                refused: report.refused,
                aborted: report.aborted,
              },
            },
          });
        if (opts.json) console.log(JSON.stringify(report, null, 2));
        else printReport(report);
        if (report.refused || report.tooManyRejected) process.exitCode = 1;
        else if (report.aborted) process.exitCode = 130;
      } catch (error) {
        progress.bar?.stop();
        if (error instanceof ImportFileError || error instanceof ErasureKeyError)
          throw new UserError(`import ${kind}: ${error.message}`);
        throw error;
      } finally {
        process.off("SIGINT", onSigint);
        await ctx.close();
      }
    });
  };
  define("customers", "Import customers from a CSV with a header (upsert by customer id)");
  define("orders", "Import purchases from a CSV with a header, or CDNOW text with --format cdnow");
}

function parseShare(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  const share = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(share >= 0 && share <= 1)) throw new UserError(`--max-rejected ${value}: expected a share such as 5% or 0.05`);
  return share;
}

function printReport(r: ImportReport): void {
  const seconds = r.durationMs / 1000;
  const n = (x: number) => x.toLocaleString("en");
  console.log(
    `${r.dryRun ? "DRY RUN (nothing written): " : ""}${r.kind} from ${r.file}: ${n(r.rows)} rows read in ${seconds.toFixed(1)} s (${n(Math.round(r.rows / Math.max(seconds, 0.001)))} rows/s)`,
  );
  const d = r.detected;
  if (d.encoding)
    console.log(`  file: ${d.encoding}, delimiter "${d.delimiter}"${d.decimalMark ? `, ${d.decimalMark}` : ""}`);
  if (d.shape)
    console.log(`  shape: ${d.shape === "lines" ? "one row per product" : "one row per order"} (${d.shapeReason})`);
  if (d.mapping)
    console.log(
      `  columns: ${Object.entries(d.mapping)
        .map(([field, column]) => `${column} -> ${field}`)
        .join(", ")}`,
    );
  if (d.dateFormat) console.log(`  dates: ${d.dateFormat} (${d.dateReason})`);
  if (r.refused) console.log(`  REFUSED (--strict): ${n(r.rejected)} bad row(s); nothing was written`);
  else if (!r.dryRun) {
    const w = r.written;
    console.log(
      `  ${r.kind === "orders" ? "orders" : "customers"}: inserted ${n(w.inserted)}, updated ${n(w.updated)}, unchanged ${n(w.unchanged)}`,
    );
    if (r.kind === "orders") {
      const f = r.refundsWritten;
      const a = r.anonymousWritten;
      console.log(`  refunds: inserted ${n(f.inserted)}, updated ${n(f.updated)}, unchanged ${n(f.unchanged)}`);
      console.log(`  anonymous sales: inserted ${n(a.inserted)}, updated ${n(a.updated)}, unchanged ${n(a.unchanged)}`);
    }
    if (r.customersCreated) console.log(`  customers created: ${n(r.customersCreated)}`);
  }
  const t = r.totals;
  if (t) {
    console.log(
      `  customers' orders: ${n(t.orders)} by ${n(t.customers)} customers${t.refundOnlyCustomers ? ` (and ${n(t.refundOnlyCustomers)} more with refunds only)` : ""}; gross ${t.gross}, refunds ${t.refunds} (${n(t.refundCount)}), net ${t.net}`,
    );
    console.log(
      `  not attributed to a customer: ${n(t.anonymousSales)} sales, gross ${t.anonymousGross}, refunds ${t.anonymousRefunds}; all sales net ${t.totalNet}`,
    );
    console.log(`  refunds linked to their original order: ${n(t.refundsLinkedToOrder)}`);
  }
  if (r.marketableCustomers !== null)
    console.log(
      `  marketable: ${n(r.marketableCustomers)} of ${n(r.customersInFile)} customers in the file (marketing needs a consent column saying yes)`,
    );
  if (r.preview.length) {
    console.log(`  ${r.dryRun ? "first rows as they would be stored" : "first rows as stored"}:`);
    for (const row of r.preview) console.log(`    ${JSON.stringify(row)}`);
  }
  console.log(`  rejected: ${n(r.rejected)} of ${n(r.rows)} rows`);
  if (r.skippedErased)
    console.log(
      `  skipped: erased on request: ${n(r.skippedErased)} of ${n(r.rows)} rows (customers who asked to be forgotten; nothing of theirs ${r.dryRun ? "would be" : "was"} written)`,
    );
  for (const reason of r.rejectionsByReason)
    console.log(`    ${n(reason.count)} x ${reason.reason} (first on line ${reason.firstLine})`);
  if (r.aborted)
    console.log(
      "  interrupted: every finished batch is saved, the open one rolled back; run again to continue (nothing is imported twice)",
    );
  for (const e of r.errors.slice(0, 20)) console.log(`  line ${e.line}: ${e.reason}`);
  if (r.rejected > 20) console.log(`  ... and ${n(r.rejected - 20)} more (use --json for up to 1000)`);
  if (r.tooManyRejected) console.log(`  FAILED: too many rows were rejected`);
  for (const hint of r.hints) console.log(`  hint: ${hint}`);
}
