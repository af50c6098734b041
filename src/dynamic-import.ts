/**
 * `import()` of a module chosen at run time (the vendored Binaryen or the npm package). One place,
 * because the command line's code-cached bundle (src/code-cache.ts) runs as a script, where
 * `import()` needs its host module: the bundle step (scripts/bundle.mjs) swaps this module for one
 * that calls the importer the loader passes in.
 */
export function dynamicImport(specifier: string): Promise<unknown> {
  return import(specifier);
}
