import type { AppContext } from "../context";

/** What a demo step receives: the app context plus the demo's fixed clock and a printer. */
export interface DemoContext extends AppContext {
  /** "Today" in the synthetic world: the day after the last generated purchase. */
  asOf: Date;
  /** Prints a line of the demo's readable summary (stdout). */
  print(line?: string): void;
  /** Where the demo may write files (charts, exports): `<DATA_DIR>/demo-output`. */
  outputDir: string;
}

/** One part of the main pipeline, run in order by `npm run demo`. */
export interface DemoStep {
  title: string;
  run(ctx: DemoContext): Promise<void>;
}
