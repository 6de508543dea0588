// Functions longer than a limit, found by walking each file's TypeScript
// syntax tree (every function-like node with a body: declarations, methods,
// constructors, accessors, arrow functions, function expressions). A
// function's length is the lines from its first to its last, comments and
// blank lines included: what a reader has to take in at once. A nested
// function counts inside its parent too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export interface LongFunction {
  /** `path/in/repo.ts:line` of the function's first line. */
  where: string;
  /** `file name`: the function's name, `Class.method` for methods, `(callee argument)` for an anonymous callback. */
  key: string;
  lines: number;
}

/** The .ts/.tsx files under `dir` (relative to `root`), declaration files, node_modules and fixtures left out. */
export function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(join(root, rel)).isDirectory()) out.push(...sourceFiles(root, rel));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** A readable name for a function node, from its own name or where it sits. */
function nameOf(node: ts.SignatureDeclaration, sf: ts.SourceFile): string {
  const owner = (n: ts.Node) => (ts.isClassLike(n.parent) && n.parent.name ? `${n.parent.name.text}.` : '');
  if (ts.isConstructorDeclaration(node)) return `${owner(node)}constructor`;
  if (node.name) return `${ts.isClassElement(node) ? owner(node) : ''}${node.name.getText(sf)}`;
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return p.name.getText(sf);
  if (ts.isCallExpression(p)) return `(${p.expression.getText(sf).slice(0, 40)} argument)`;
  return '(anonymous)';
}

/** Every function over `limit` lines in the .ts/.tsx files under `dirs` (relative to `root`), longest first. */
export function longFunctions(root: string, dirs: readonly string[], limit: number): LongFunction[] {
  const out: LongFunction[] = [];
  for (const file of dirs.flatMap((d) => sourceFiles(root, d))) {
    const text = readFileSync(join(root, file), 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const last = sf.getLineAndCharacterOfPosition(node.end).line;
        const lines = last - first + 1;
        if (lines > limit) out.push({ where: `${file}:${first + 1}`, key: `${file} ${nameOf(node, sf)}`, lines });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out.sort((a, b) => b.lines - a.lines);
}
