// pipe graph FILE: the pipeline's DAG as Mermaid flowchart text (paste into any Mermaid viewer,
// or a ```mermaid block on GitHub).
import { toMermaid } from '../pipeline/graph.ts';
import { defineCommand, EXIT, expectArgs, checkForCli, SET_OPTION } from './command.ts';

export default defineCommand({
  usage: 'FILE [--set NODE.PARAM=VALUE ...]',
  description: 'Worker nodes are drawn as [[boxes]], value edges dotted. The file must be valid.',
  options: { set: SET_OPTION },
  async run({ values, positionals }, io) {
    const [file] = expectArgs(positionals, ['FILE']);
    const r = await checkForCli(file, values, io);
    if (!r.pipeline) return EXIT.usage;
    io.out(toMermaid(r.pipeline));
    return EXIT.ok;
  },
});
