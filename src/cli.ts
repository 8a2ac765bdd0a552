// `pipe`: the command line. bin/pipe.mjs calls main(); the exit status is its result:
// 0 ok, 1 the run failed, 2 bad usage or an invalid pipeline, 130 interrupted.
import { readFileSync } from 'node:fs';
import { asIoFailed, TokenpipeError, UsageError } from './errors.ts';
import { commandHelp, EXIT, parseCommandArgs, type CliIO } from './cli/command.ts';
import { commands } from './cli/commands.ts';
import { didYouMean, hint } from './pipeline/suggest.ts';

export const processIO: CliIO = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
  isTTY: Boolean(process.stderr.isTTY),
};

function version(): string {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
}

function mainHelp(): string {
  const w = Math.max(...Object.keys(commands).map((k) => k.length));
  return [
    'Usage: pipe <command> [options]',
    '',
    'tokenpipe: teach a causal language model new tokens with a dataflow pipeline.',
    '',
    'Commands:',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`),
    '',
    "Run 'pipe <command> --help' for the options of a command; --verbose (with any command) adds stack traces to errors.",
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  // --verbose, anywhere: stack traces of failures besides their one-line message.
  if (argv.includes('--verbose')) return main(argv.filter((a) => a !== '--verbose'), { ...io, verbose: true });
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    (name === undefined ? io.err : io.out)(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(version());
    return EXIT.ok;
  }
  if (name === 'help') return main(rest.length ? [rest[0], '--help'] : ['--help'], io);
  const entry = commands[name];
  if (!entry) {
    io.err(`pipe: unknown command '${name}'${hint(didYouMean(name, Object.keys(commands)))}\nRun 'pipe --help' for the list.`);
    return EXIT.usage;
  }
  try {
    const cmd = await entry.load();
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help) {
      io.out(commandHelp(name, entry.summary, cmd));
      return EXIT.ok;
    }
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`pipe ${name}: ${e.message}\nRun 'pipe ${name} --help' for usage.`);
      return EXIT.usage;
    }
    // Our own errors have messages written for the user (a system error becomes one naming its
    // path: IoFailed); anything else gets its stack, and --verbose adds the cause's.
    const err = asIoFailed(e, undefined);
    io.err(`pipe ${name}: ${err instanceof TokenpipeError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)}`);
    if (io.verbose && err instanceof TokenpipeError) io.err(String((err.cause as Error | undefined)?.stack ?? err.stack));
    return EXIT.failed;
  }
}
