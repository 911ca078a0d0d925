/**
 * Every type the library's exported API mentions is itself exported: a library user can name
 * (and so build) everything a signature asks for, e.g. a `DnsProvider` for `openRuntime`.
 * Walks the type positions of each export of src/index.ts (signatures, properties, heritage;
 * never function bodies or initializers) with the compiler's own symbol resolution.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)));

function unexportedReferences(entry: string): string[] {
  const program = ts.createProgram([entry], { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (source === undefined) throw new Error(`cannot read ${entry}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) throw new Error(`${entry} is not a module`);
  const resolveAlias = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exported = new Set(checker.getExportsOfModule(moduleSymbol).map(resolveAlias));
  const ours = (declaration: ts.Declaration): boolean => declaration.getSourceFile().fileName.startsWith(SRC) && !declaration.getSourceFile().isDeclarationFile;
  const found = new Set<string>();
  const visit = (node: ts.Node, from: string): void => {
    if (ts.isBlock(node)) return;
    if ((ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) && (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Private || (node.name !== undefined && ts.isPrivateIdentifier(node.name)))) return;
    // `typeof SOME_VALUE` needs no shape built by the user, only the value's type: not checked.
    if (ts.isTypeQueryNode(node)) return;
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
      const name = ts.isTypeReferenceNode(node) ? node.typeName : node.expression;
      const symbol = checker.getSymbolAtLocation(name);
      const target = symbol === undefined ? undefined : resolveAlias(symbol);
      const declaration = target?.declarations?.[0];
      // A generic type alias is a computation (`CodesWithExit<2>` is a union of codes), not a shape to build.
      const helper = declaration !== undefined && ts.isTypeAliasDeclaration(declaration) && declaration.typeParameters !== undefined;
      if (target !== undefined && declaration !== undefined && !helper && !(target.flags & ts.SymbolFlags.TypeParameter) && ours(declaration) && !exported.has(target)) {
        found.add(`${target.getName()} (in ${from})`);
      }
    }
    ts.forEachChild(node, (child) => {
      // An initializer is a value, not part of the type a user has to build.
      if ((ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isParameter(node)) && child === node.initializer) return;
      visit(child, from);
    });
  };
  for (const symbol of exported) {
    for (const declaration of symbol.declarations ?? []) if (ours(declaration)) visit(declaration, symbol.getName());
  }
  return [...found].sort();
}

describe('the library entry point', () => {
  it('exports every type its exports mention', () => {
    expect(unexportedReferences(join(SRC, 'index.ts'))).toEqual([]);
  }, 60_000);
});
