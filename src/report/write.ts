// Writes a run report into the run folder: <name>.md, <name>.json and the loss-curve SVG, each
// through a temporary file and a rename (a reader never sees half a report).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../io/safetensors-write.ts';
import { reportMarkdown } from './markdown.ts';
import type { BranchRecord } from './record.ts';
import { lossCurveSvg } from './svg.ts';

export interface WrittenReport {
  markdown: string;
  json: string;
  image: string;
}

export async function writeText(file: string, text: string): Promise<void> {
  await writeAtomic(file, [new TextEncoder().encode(text)]);
}

/** The pipeline file named in <runDir>/pipeline.json (written by the runner), if any. */
export function pipelineFileOf(runDir: string): string | undefined {
  const f = path.join(runDir, 'pipeline.json');
  if (!existsSync(f)) return undefined;
  return (JSON.parse(readFileSync(f, 'utf8')) as { file?: string }).file;
}

export async function writeReport(runDir: string, records: BranchRecord[], o: { name: string; title: string; image: string }): Promise<WrittenReport> {
  const out: WrittenReport = {
    markdown: path.join(runDir, `${o.name}.md`),
    json: path.join(runDir, `${o.name}.json`),
    image: path.join(runDir, o.image),
  };
  const pipelineFile = pipelineFileOf(runDir);
  await writeText(out.image, lossCurveSvg(records));
  await writeText(out.json, JSON.stringify({ title: o.title, runDir, pipelineFile, branches: records }, null, 2) + '\n');
  await writeText(out.markdown, reportMarkdown(records, { title: o.title, runDir, pipelineFile, image: o.image }));
  return out;
}
