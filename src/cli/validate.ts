// pipe validate FILE: every problem of the file at once, compiler style, on stderr.
import { defineCommand, EXIT, expectArgs, checkForCli, SET_OPTION } from './command.ts';

export default defineCommand({
  usage: 'FILE [--set NODE.PARAM=VALUE ...] [--json]',
  description:
    'Checks YAML syntax, the file schema, node types and modules, each node\'s params, and the graph\n' +
    '(unknown references, stream/value and item mismatches, missing inputs, cycles). Exit status 2\n' +
    'when there is an error, 0 otherwise (warnings allowed).',
  options: {
    set: SET_OPTION,
    json: { type: 'boolean', description: 'print the issues as JSON on stdout' },
  },
  async run({ values, positionals }, io) {
    const [file] = expectArgs(positionals, ['FILE']);
    const r = await checkForCli(file, values, values.json ? { ...io, err: () => {} } : io);
    const errors = r.issues.filter((i) => i.severity === 'error').length;
    const warnings = r.issues.length - errors;
    if (values.json) io.out(JSON.stringify({ file: r.file, valid: errors === 0, issues: r.issues }, null, 2));
    else if (errors) io.err(`${file}: ${errors} error(s), ${warnings} warning(s)`);
    else io.err(`${file}: valid (${r.pipeline!.nodes.length} nodes${warnings ? `, ${warnings} warning(s)` : ''})`);
    return errors ? EXIT.usage : EXIT.ok;
  },
});
