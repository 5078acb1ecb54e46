import { Command, Option } from "commander";
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
      .option("--delimiter <char>", "CSV delimiter", ",")
      .option("--date-format <luxon>", "date format when not ISO/YYYYMMDD, e.g. dd.MM.yyyy")
      .option("--batch-size <n>", "rows per transaction", (v) => Number.parseInt(v, 10), 5000)
      .option("--json", "print the report as JSON", false);
    if (kind === "orders") {
      cmd.addOption(new Option("--format <format>", "file format").choices(["csv", "cdnow"]).default("csv"));
      cmd.option("--create-customers", "create customers that are not in the store yet", false);
    }
    cmd.action(async (file: string, opts: Record<string, unknown>) => {
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
          delimiter: opts.delimiter as string,
          dateFormat: opts.dateFormat as string | undefined,
          batchSize: opts.batchSize as number,
          createCustomers: Boolean(opts.createCustomers),
          timeZone: ctx.config.business.timeZone,
          now: ctx.now(),
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
        await ctx.db.prisma.auditLog.create({
          data: {
            actor: "cli",
            action: `import.${kind}`,
            details: {
              file,
              rows: report.rows,
              rejected: report.rejected,
              written: { ...report.written },
              refused: report.refused,
              aborted: report.aborted,
            },
          },
        });
        if (opts.json) console.log(JSON.stringify(report, null, 2));
        else printReport(report);
        if (report.refused) process.exitCode = 1;
        else if (report.aborted) process.exitCode = 130;
      } catch (error) {
        progress.bar?.stop();
        if (error instanceof ImportFileError) throw new UserError(`import ${kind}: ${error.message}`);
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

function printReport(r: ImportReport): void {
  const seconds = r.durationMs / 1000;
  console.log(
    `${r.kind} from ${r.file}: ${r.rows.toLocaleString("en")} rows read in ${seconds.toFixed(1)} s (${Math.round(r.rows / Math.max(seconds, 0.001)).toLocaleString("en")} rows/s)`,
  );
  if (r.refused) console.log(`  REFUSED (--strict): ${r.rejected} bad row(s); nothing was written`);
  else {
    console.log(
      `  inserted ${r.written.inserted}, updated ${r.written.updated}, unchanged ${r.written.unchanged}, rejected ${r.rejected}`,
    );
    if (r.customersCreated) console.log(`  customers created: ${r.customersCreated}`);
  }
  if (r.aborted)
    console.log(
      "  interrupted: every finished batch is saved, the open one rolled back; run again to continue (nothing is imported twice)",
    );
  for (const e of r.errors.slice(0, 50)) console.log(`  line ${e.line}: ${e.reason}`);
  if (r.rejected > 50) console.log(`  ... and ${r.rejected - 50} more (use --json for up to 1000)`);
}
