// Module resolution hook for node modules that live outside this repository (a user's
// `use: ./my-node.ts` anywhere on disk). Registered by loaders.mjs on every thread that
// imports nodes (main and pool workers).
//  - Bare specifiers the user's folder cannot resolve ('tokenpipe', 'zod', ...) are resolved
//    from this package instead, so a custom node can import what the built-ins import.
//  - A .ts file with no package.json "type" nearby would be compiled as CommonJS, whose
//    require() bypasses this hook; node files are ES modules, so they load as such.
const PACKAGE_JSON = new URL('../../package.json', import.meta.url).href;
const TS_FILE = /\.(ts|tsx|mts)$/;
const NOT_BARE = /^(\.|\/|[a-zA-Z]:[\\/]|file:|node:|data:)/;

export async function resolve(specifier, context, next) {
  let resolved;
  try {
    resolved = await next(specifier, context);
  } catch (error) {
    if (NOT_BARE.test(specifier) || error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    resolved = await next(specifier, { ...context, parentURL: PACKAGE_JSON });
  }
  if (
    resolved.format === 'commonjs' &&
    resolved.url.startsWith('file:') &&
    !resolved.url.includes('/node_modules/') &&
    TS_FILE.test(new URL(resolved.url).pathname)
  ) {
    return { ...resolved, format: 'module' };
  }
  return resolved;
}
