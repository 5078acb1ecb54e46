/** Where `npm ci` and the test run put the prebuilt command line. */
export const BUNDLE_DIR: string;
/** The bundle's entry, or null when it is missing or any source changed since it was built. */
export function freshCliBundle(dir?: string, root?: string): string | null;
/** Bundles `jobs/cli.ts` and the packages it uses into `dir` and records each source's size and modification time. */
export function buildCliBundle(dir?: string, root?: string): Promise<{ dir: string; sources: number }>;
/** Runs the bundle at `entry` with V8's code cache beside it and returns its exports. */
export function loadCliBundle(entry: string, v8Flags?: readonly string[]): { main(argv: string[]): Promise<number> };
