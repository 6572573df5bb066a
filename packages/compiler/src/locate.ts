/**
 * Find where a config path is written in the source, to print `caja.config.ts:14:5`.
 *
 * Only used when there is something to report. A path written as literals (most mistakes) is
 * placed by the scanner of locate-scan.ts, which reads the file's text. Any other goes to ts-morph
 * (with the TypeScript compiler inside it), imported only then: it follows the default export
 * through `defineConfig(...)`, arrow functions, `as`/`satisfies`, spreads and identifiers (across
 * files), and stops at the deepest node it can find, so a value built at run time still gets the
 * nearest enclosing field. The scanner answers only where it gives ts-morph's answer.
 */
import type { Node as TsNode, Project } from "ts-morph";
import { scanLocations } from "./locate-scan.js";

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Where each path (with its issue's unknown key, if any, appended) is written in `file`. */
export async function locatePaths(file: string, paths: readonly (readonly PropertyKey[])[], keys: readonly (string | undefined)[] = []): Promise<(SourceLocation | undefined)[]> {
  const wanted = paths.map((path, i) => (keys[i] !== undefined ? [...path, keys[i]!] : path));
  const found = scanLocations(file, wanted);
  const left = wanted.flatMap((_, i) => (found[i] ? [] : [i]));
  if (left.length === 0) return found;
  const located = await locateWithTypeScript(file, left.map((i) => wanted[i]!));
  left.forEach((i, k) => (found[i] = located[k]));
  return found;
}

/** The walk over ts-morph's syntax tree, for paths (full segments) the scanner could not place. */
export async function locateWithTypeScript(file: string, paths: readonly (readonly PropertyKey[])[]): Promise<(SourceLocation | undefined)[]> {
  let morph: typeof import("ts-morph");
  try {
    morph = await import("ts-morph");
  } catch {
    return paths.map(() => undefined);
  }
  const { Node, Project: ProjectCtor } = morph;
  const project: Project = new ProjectCtor({ skipAddingFilesFromTsConfig: true, compilerOptions: { allowJs: true, noEmit: true } });
  const source = project.addSourceFileAtPath(file);
  project.resolveSourceFileDependencies();

  const rootExpr = defaultExport();
  return paths.map((segments) => {
    if (!rootExpr) return undefined;
    const node = walk(rootExpr, segments);
    return node ? at(node) : undefined;
  });

  function defaultExport(): TsNode | undefined {
    const assignment = source.getExportAssignment((e) => !e.isExportEquals());
    if (assignment) return assignment.getExpression();
    const fn = source.getDefaultExportSymbol()?.getDeclarations()[0];
    return fn;
  }

  /** Deepest node along `segments`, starting at a config-valued expression. */
  function walk(start: TsNode, segments: readonly PropertyKey[]): TsNode | undefined {
    let node: TsNode | undefined = unwrap(start);
    let best: TsNode | undefined = node;
    for (const seg of segments) {
      if (!node) break;
      const next = child(node, seg);
      if (!next) break;
      best = next.reportAt;
      node = next.value ? unwrap(next.value) : undefined;
    }
    return best;
  }

  function child(node: TsNode, seg: PropertyKey): { reportAt: TsNode; value?: TsNode } | undefined {
    if (Node.isObjectLiteralExpression(node)) {
      // Later properties win, as at run time; look through spreads too.
      const props = node.getProperties().slice().reverse();
      for (const prop of props) {
        if (Node.isPropertyAssignment(prop) && nameOf(prop) === String(seg)) {
          const value = prop.getInitializer();
          return { reportAt: prop, ...(value ? { value } : {}) };
        }
        if (Node.isShorthandPropertyAssignment(prop) && nameOf(prop) === String(seg)) {
          const value = declaredValue(prop.getValueSymbol());
          return { reportAt: prop, ...(value ? { value } : {}) };
        }
        if (Node.isMethodDeclaration(prop) && nameOf(prop) === String(seg)) return { reportAt: prop };
        if (Node.isSpreadAssignment(prop)) {
          const spread = unwrap(prop.getExpression());
          const found = spread ? child(spread, seg) : undefined;
          if (found) return found;
        }
      }
      return undefined;
    }
    if (Node.isArrayLiteralExpression(node) && typeof seg === "number") {
      const el = node.getElements()[seg];
      return el ? { reportAt: el, value: el } : undefined;
    }
    return undefined;
  }

  /** Look through wrappers to the object literal that holds the value. */
  function unwrap(node: TsNode | undefined, depth = 0): TsNode | undefined {
    if (!node || depth > 20) return node;
    if (Node.isParenthesizedExpression(node) || Node.isAsExpression(node) || Node.isSatisfiesExpression(node) || Node.isNonNullExpression(node)) {
      return unwrap(node.getExpression(), depth + 1);
    }
    if (Node.isAwaitExpression(node)) return unwrap(node.getExpression(), depth + 1);
    if (Node.isCallExpression(node)) {
      const arg = node.getArguments()[0];
      return arg ? unwrap(arg, depth + 1) : node;
    }
    if (Node.isArrowFunction(node) || Node.isFunctionExpression(node) || Node.isFunctionDeclaration(node)) {
      const body = node.getBody();
      if (body && Node.isBlock(body)) {
        const ret = body.getStatements().reverse().find(Node.isReturnStatement);
        return unwrap(ret?.getExpression(), depth + 1) ?? node;
      }
      return unwrap(body, depth + 1);
    }
    if (Node.isIdentifier(node)) {
      const value = declaredValue(node.getSymbol());
      return value ? unwrap(value, depth + 1) : node;
    }
    return node;
  }

  /** The initializer (or function) a symbol stands for, following imports into other files. */
  function declaredValue(symbol: ReturnType<TsNode["getSymbol"]>): TsNode | undefined {
    const target = symbol?.isAlias() ? symbol.getAliasedSymbol() : symbol;
    const decl = target?.getDeclarations()[0];
    if (decl && Node.isVariableDeclaration(decl)) return decl.getInitializer();
    if (decl && Node.isFunctionDeclaration(decl)) return decl;
    return undefined;
  }

  function nameOf(prop: TsNode): string | undefined {
    const named = prop as unknown as { getName?: () => string };
    const name = named.getName?.();
    return name?.replace(/^["'`](.*)["'`]$/, "$1");
  }

  function at(node: TsNode): SourceLocation {
    const sf = node.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
    return { file: sf.getFilePath(), line, column };
  }
}
