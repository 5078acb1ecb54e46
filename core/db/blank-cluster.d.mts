/** Where the blank cluster for the installed PGlite is kept (node_modules/.cache/retention). */
export function blankClusterFile(root?: string): string;
/** The blank cluster as PGlite's `loadDataDir` takes it, or undefined when there is none. */
export function blankCluster(root?: string): Blob | undefined;
/** Runs PGlite's initdb once and keeps the result; returns the file written. */
export function buildBlankCluster(root?: string): Promise<string>;
