/**
 * Where the build's files are, for the modules that load one at run time (the vendored Binaryen,
 * the compile worker). This module sits in dist/src/, and so do the build's bundles
 * (scripts/bundle.mjs), in which every module has the bundle's `import.meta.url`: paths taken from
 * here are the same in both layouts.
 */
export const DIST_SRC = new URL('./', import.meta.url);
