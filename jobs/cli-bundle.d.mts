/** Where `npm ci` and the test run put the prebuilt command line. */
export const BUNDLE_DIR: string;
/** The bundle's entry, or null when it is missing or any source changed since it was built. */
export function freshCliBundle(dir?: string, root?: string): string | null;
/** Bundles `jobs/cli.ts` into `dir` and records each source's size and modification time. */
export function buildCliBundle(dir?: string, root?: string): Promise<{ dir: string; sources: number }>;
