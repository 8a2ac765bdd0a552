// pipe run FILE: validate, then run. Exit 0 completed, 1 failed, 2 invalid, 130 interrupted.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ResumeConfigMismatch, RunFolderLocked, TokenpipeError, UsageError, WorkerError } from '../errors.ts';
import { toMermaid } from '../pipeline/graph.ts';
import { defaultProgressMode } from '../pipeline/progress.ts';
import { exitCodeFor, makeRunDir, runPipeline, type RunOptions } from '../pipeline/run.ts';
import { checkResume, formatChange, readLegs, type FieldChange } from '../pipeline/run-record.ts';
import { pipeCommand, shellWord } from '../report/pipe-command.ts';
import { isEvent } from '../../nodes/_events.ts';
import { userFrame } from '../util/stack-frame.ts';
import { checkForCli, defineCommand, EXIT, expectArgs, SET_OPTION } from './command.ts';

/** RunOptions plus the flags the training side reads (resume from the last checkpoint, plan only). */
export type CliRunOptions = RunOptions & { resume?: boolean; dryRun?: boolean; overrides?: string[] };

export default defineCommand({
  usage: 'FILE [--set NODE.PARAM=VALUE ...] [--backend NAME] [--log FILE] [--resume [--resume-changed]] [--dry-run]',
  description:
    'The run folder (settings.outputDir/<name>-<time>) receives the resolved pipeline, events.jsonl,\n' +
    'rejects.jsonl and whatever the nodes write. Ctrl-C stops the sources, lets items in flight\n' +
    'finish and flushes the sinks (exit status 130); a second Ctrl-C stops at once.\n' +
    '--resume continues the newest run folder of the pipeline from its last checkpoint, after\n' +
    "checking that the pipeline (every node, param and input file) is the first leg's: any\n" +
    'difference is listed and refused (exit 2) unless --resume-changed; a finished run is left as it is.\n' +
    '--dry-run plans in a scratch folder it removes at the end: no run folder is made, nothing is trained.',
  options: {
    set: SET_OPTION,
    log: { type: 'string', value: 'FILE', description: 'also write every event to FILE as JSON lines' },
    resume: { type: 'boolean', description: 'continue from the latest checkpoint of the run folder' },
    'resume-changed': { type: 'boolean', description: "with --resume: continue although the pipeline differs from the first leg's (the changes are recorded)" },
    'dry-run': { type: 'boolean', description: 'check and plan (graph, memory, data, time) without training or making a run folder' },
    backend: { type: 'string', value: 'NAME', description: 'engine: auto|native|wasm|cpu|tensorflow|tensorflow-gpu (same as --set settings.backend=NAME)' },
  },
  async run({ values, positionals }, io) {
    const [file] = expectArgs(positionals, ['FILE']);
    // --backend is shorthand for an override, so it is checked by the same schema.
    if (typeof values.backend === 'string') values.set = [...((values.set as string[] | undefined) ?? []), `settings.backend=${values.backend}`];
    const r = await checkForCli(file, values, io);
    if (!r.pipeline) return EXIT.usage;
    const p = r.pipeline;
    const resume = Boolean(values.resume);
    const dryRun = Boolean(values['dry-run']);
    const overrides = (values.set as string[] | undefined) ?? [];
    if (values['resume-changed'] && !resume) throw new UsageError('--resume-changed goes with --resume');
    // --resume continues in the newest run folder of this pipeline, where its checkpoints are.
    const resumeDir = resume ? latestRunDir(p.settings.outputDir, p.name) : undefined;
    let resumeChanges: FieldChange[] | undefined;
    if (resumeDir) {
      // Checked before anything is written: a refused or pointless resume leaves the folder as it was.
      const check = await checkResume(resumeDir, p);
      if (check.changes.length > 0 && !values['resume-changed']) {
        io.err(`pipe run: --resume: the pipeline differs from the first leg's (${path.join(resumeDir, 'pipeline.json')}):`);
        for (const c of check.changes) io.err(`  ${formatChange(c)}`);
        io.err(resumeAsBefore(file, resumeDir, check.changes));
        io.err('Or add --resume-changed to continue with these changes (they are recorded in the run folder and the adapter).');
        return EXIT.usage;
      }
      if (check.changes.length === 0 && check.finished) {
        io.err(`pipe run: --resume: this run finished (leg ${check.finished.leg}, completed ${check.finished.ended}); nothing to resume, nothing changed`);
        return EXIT.ok;
      }
      resumeChanges = check.changes;
    }
    // A dry run plans in a scratch folder beside the run folders (the nodes write their plans as
    // in a run) and removes it: no run folder is made, and none is left for --resume to find.
    const runDir = dryRun ? scratchDir(p.settings.outputDir) : resumeDir ?? makeRunDir(p.settings.outputDir, p.name);
    if (!dryRun) io.err(`run folder: ${runDir}${resume ? ' (resuming)' : ''}`);
    if (dryRun) io.out(`graph (Mermaid):\n${toMermaid(p)}\n`);
    const summaries: string[] = [];
    const warnings: string[] = [];
    const opts: CliRunOptions = {
      runDir,
      logFile: values.log as string | undefined,
      progress: defaultProgressMode(),
      handleSigint: true,
      // A dry run reads no checkpoint: it plans the run as configured.
      resume: resume && !dryRun,
      dryRun,
      events: {
        emit(e) {
          // The memory plan is the point of --dry-run: print it as it arrives.
          if (dryRun && isEvent(e, 'memory-plan')) io.out(`${e.node}: memory plan\n${e.lines.join('\n')}\n`);
          if (dryRun && isEvent(e, 'data-plan')) io.out(`${e.node}: data plan\n${e.lines.join('\n')}\n`);
          // Warnings are printed after the run: a line written under a redrawn progress block would be lost.
          if (isEvent(e, 'warning')) warnings.push(e.message);
          if (isEvent(e, 'leftovers-removed')) io.err(`pipe run: removed ${e.paths.length} temp file(s)/folder(s) a killed leg left: ${e.paths.join(', ')}`);
          // A node's end-of-run summary is printed after the run, once the progress display has
          // stopped redrawing (it would overwrite lines printed in between).
          if (isEvent(e, 'summary') && typeof e.text === 'string') summaries.push(e.text);
        },
      },
      overrides,
      resumeChanges,
    };
    let result: Awaited<ReturnType<typeof runPipeline>>;
    try {
      result = await runPipeline(p, opts);
    } catch (e) {
      // Another leg runs in this folder (src/pipeline/run-lock.ts): refused before anything was written.
      if (!(e instanceof RunFolderLocked)) throw e;
      io.err(`pipe run: ${e.message}`);
      return EXIT.usage;
    } finally {
      if (dryRun) rmSync(runDir, { recursive: true, force: true });
    }
    const code = exitCodeFor(result);
    const secs = (result.stats.elapsedMs / 1000).toFixed(1);
    for (const w of warnings) io.err(`pipe run: warning: ${w}`);
    for (const text of summaries) io.out(text + '\n');
    if (result.status === 'failed') {
      io.err(`pipe run: failed after ${secs}s: ${result.error?.message ?? 'unknown error'}`);
      // Where in the node's own code it threw; the whole stack is in events.jsonl (run-end). A
      // tokenpipe error (a refused plan, a bad file) already says what is wrong and where: no frame;
      // a WorkerError carries whatever a worker node threw, with that error's own stack.
      const cause = result.error?.cause as Error | undefined;
      const named = cause instanceof TokenpipeError && !(cause instanceof WorkerError);
      const at = named ? undefined : userFrame(cause?.stack);
      if (at) io.err(`  at ${at}`);
      if (io.verbose) io.err(String(((cause?.cause as Error | undefined) ?? cause)?.stack ?? ''));
      // The checkpoint refused this leg's training config: say how to resume as the run began.
      if (resumeDir && cause instanceof ResumeConfigMismatch) io.err(resumeAsBefore(file, resumeDir, resumeChanges ?? []));
    }
    else if (result.status === 'interrupted') io.err(`pipe run: interrupted after ${secs}s`);
    else if (dryRun) io.err(`pipe run: dry run done in ${secs}s: nothing trained, no run folder made`);
    else io.err(`pipe run: completed in ${secs}s${result.stats.rejected ? ` (${result.stats.rejected} item(s) rejected, see rejects.jsonl)` : ''}`);
    if (!dryRun) io.err(`run folder: ${result.runDir}`);
    if (result.unfinished.length > 0) {
      // Nodes that did not stop within the drain time may hold the event loop open.
      io.err(`pipe run: nodes still running after the drain timeout: ${result.unfinished.join(', ')}`);
      process.exit(code);
    }
    return code;
  },
});

/**
 * `To resume as it began: pipe run FILE --set a.b=1 --resume`: the first leg's --set arguments
 * (legs.jsonl) rebuild its pipeline from the same file. A change no --set explains (the file or
 * an input changed) is named: the command alone does not undo it.
 */
export function resumeAsBefore(file: string, runDir: string, changes: FieldChange[]): string {
  const sets = readLegs(runDir)[0]?.overrides ?? [];
  const cmd = [pipeCommand(), 'run', shellWord(file), ...sets.flatMap((s) => ['--set', shellWord(s)]), '--resume'].join(' ');
  const settable = (field: string) => /^(nodes\.[^.]+\.with\.|settings\.)/.test(field);
  const other = changes.filter((c) => !settable(c.field)).map((c) => c.field);
  return `To resume as the run began (its first leg's --set arguments): ${cmd}` +
    (other.length ? `\n  (and with ${other.join(', ')} as in the first leg: no --set restores ${other.length === 1 ? 'it' : 'them'})` : '');
}

/** A scratch folder for a dry run beside the run folders (same disk), hidden from --resume's search. */
function scratchDir(outputDir: string): string {
  mkdirSync(outputDir, { recursive: true });
  return mkdtempSync(path.join(path.resolve(outputDir), '.dry-run-'));
}

/**
 * The newest `<name>-<timestamp>` folder under outputDir (makeRunDir's names sort by time) that
 * holds a checkpoint: a --dry-run or a run stopped before its first checkpoint has nothing to
 * continue, and resuming there would silently start from scratch.
 */
function latestRunDir(outputDir: string, name: string): string {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}-\\d{6}(-\\d+)?$`);
  const found = existsSync(outputDir) ? readdirSync(outputDir).filter((d) => pattern.test(d)).sort() : [];
  const last = found.reverse().find((d) => hasCheckpoint(path.join(outputDir, d)));
  if (!last) {
    const why = found.length === 0 ? 'no earlier run' : `no earlier run with a checkpoint (${found.length} run folder(s) without one)`;
    throw new UsageError(`--resume: ${why} of '${name}' under ${outputDir}; run it once without --resume`);
  }
  return path.join(outputDir, last);
}

/** A checkpoint folder (step-N) under any checkpoints* folder of a run (train-step's checkpointDir). */
function hasCheckpoint(runDir: string): boolean {
  return readdirSync(runDir, { withFileTypes: true }).some(
    (d) => d.isDirectory() && d.name.startsWith('checkpoints') && readdirSync(path.join(runDir, d.name)).some((c) => /^step-\d+$/.test(c)),
  );
}
