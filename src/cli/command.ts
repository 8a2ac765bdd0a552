// What a `pipe` subcommand is, and the helpers they share. Each command lives in its own file
// under src/cli/ and is listed in commands.ts.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { formatIssue, type ConfigIssue } from '../util/config-issue.ts';
import { checkPipeline, type CheckResult } from '../pipeline/load.ts';
import { didYouMean, hint } from '../pipeline/suggest.ts';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress display vs plain lines). */
  isTTY: boolean;
  /** `--verbose`: print stack traces of failures too. */
  verbose?: boolean;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** May be given more than once (values collect into an array). */
  multiple?: boolean;
  /** Placeholder shown in help: `--set NODE.PARAM=VALUE`. */
  value?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  /** After `pipe <name>`: 'FILE [options]'. */
  usage: string;
  /** A few lines shown by `pipe <name> --help`. */
  description: string;
  options: Record<string, OptionSpec>;
  run(args: { values: OptionValues; positionals: string[] }, io: CliIO): Promise<number>;
}

export function defineCommand(c: Command): Command {
  return c;
}

/** Exit statuses of `pipe`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };

/** parseArgs with the command's options plus --help; bad options become a UsageError. */
export function parseCommandArgs(cmd: Command, argv: string[]): { values: OptionValues; positionals: string[] } {
  const options = { ...cmd.options, help: HELP };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
    return { values: values as OptionValues, positionals };
  } catch (e) {
    const first = (e as Error).message.split('\n')[0];
    // An unknown option gets the nearest known one, as unknown node types and params do (node's
    // own message goes on about positionals starting with '-', which is seldom what happened).
    if ((e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /'(-[^']*)'/.exec(first)?.[1] ?? first;
      const near = given.startsWith('--') ? didYouMean(given.slice(2).split('=')[0], Object.keys(options)) : undefined;
      throw new UsageError(`unknown option '${given}'${hint(near === undefined ? undefined : `--${near}`)}`);
    }
    throw new UsageError(first);
  }
}

export function commandHelp(name: string, summary: string, cmd: Command): string {
  const options = { ...cmd.options, help: HELP };
  const rows = Object.entries(options).map(([k, o]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${k}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`,
    `${o.description}${o.multiple ? ' (repeatable)' : ''}`,
  ]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return [
    `Usage: pipe ${name} ${cmd.usage}`,
    '',
    summary[0].toUpperCase() + summary.slice(1) + '.',
    cmd.description ? `\n${cmd.description}` : '',
    '',
    'Options:',
    ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`),
    '',
  ].join('\n');
}

/** Exactly `n` positionals, or a UsageError naming what is missing or extra. */
export function expectArgs(args: string[], names: string[]): string[] {
  if (args.length < names.length) throw new UsageError(`missing ${names.slice(args.length).join(' ')}`);
  if (args.length > names.length) throw new UsageError(`unexpected argument '${args[names.length]}'`);
  return args;
}

export function printIssues(issues: ConfigIssue[], io: CliIO): void {
  for (const i of issues) io.err(formatIssue(i));
}

/** Shared by run, validate and graph: check the file with its --set overrides and print every issue. */
export async function checkForCli(file: string, values: OptionValues, io: CliIO): Promise<CheckResult> {
  const r = await checkPipeline(file, { overrides: (values.set as string[] | undefined) ?? [] });
  printIssues(r.issues, io);
  return r;
}

export const SET_OPTION: OptionSpec = {
  type: 'string',
  multiple: true,
  value: 'NODE.PARAM=VALUE',
  description: 'override a node param or settings.KEY; VALUE is YAML (3, true, [a, b], "text")',
};
