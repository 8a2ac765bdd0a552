#!/usr/bin/env node
// Entry point of the `pipe` command. TypeScript sources run through tsx, registered here
// rather than with a build step, so user nodes written in TypeScript (anywhere on disk)
// load the same way the built-in ones do.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
