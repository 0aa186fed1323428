#!/usr/bin/env node
// Fails when the relative imports inside any package's `src/` (packages/*/src, examples/*/src)
// form a runtime cycle. Imports that vanish at runtime are ignored: `import type`, `export type`,
// and imports whose every named binding is `type`-marked... except that with `verbatimModuleSyntax`
// (our tsconfig) `import { type A } from "./a.js"` still loads "./a.js", so only the whole-statement
// `import type` / `export type` forms are skipped. Dynamic `import()` is skipped too: it runs after
// module evaluation and cannot deadlock initialisation.
//
// The script checks itself first: a fixture with a runtime cycle must be reported and one whose
// only cycle is type-only must not, so a broken checker fails lint instead of passing everything.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The relative module specifiers `text` loads at runtime. */
export function runtimeImports(fileName, text) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      if (statement.importClause?.isTypeOnly) continue;
      found.push(statement.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier) {
      if (statement.isTypeOnly) continue;
      found.push(statement.moduleSpecifier.text);
    } else if (
      ts.isImportEqualsDeclaration(statement) &&
      !statement.isTypeOnly &&
      ts.isExternalModuleReference(statement.moduleReference)
    ) {
      found.push(statement.moduleReference.expression.text);
    }
  }
  return found.filter((specifier) => specifier.startsWith("."));
}

/** Resolves `./x.js` (as written under NodeNext) to the `.ts` source among `files`. */
function resolveSpecifier(from, specifier, files) {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.(c|m)?js$/, ".$1ts"), base, `${base}.ts`, join(base, "index.ts")];
  return candidates.find((candidate) => files.has(candidate));
}

/** Every cycle (as a list of files) in the graph `edges` (file -> files it loads at runtime). */
export function findCycles(edges) {
  // Tarjan's strongly connected components; a component of two or more files, or a file that
  // imports itself, is a cycle.
  let index = 0;
  const stack = [];
  const info = new Map();
  const cycles = [];
  const visit = (node) => {
    info.set(node, { index, low: index, onStack: true });
    index++;
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!info.has(next)) {
        visit(next);
        info.get(node).low = Math.min(info.get(node).low, info.get(next).low);
      } else if (info.get(next).onStack) {
        info.get(node).low = Math.min(info.get(node).low, info.get(next).index);
      }
    }
    if (info.get(node).low === info.get(node).index) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        info.get(member).onStack = false;
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) cycles.push(component.reverse());
    }
  };
  for (const node of [...edges.keys()].sort()) if (!info.has(node)) visit(node);
  return cycles;
}

/** The runtime import graph of `sources` (absolute path -> text). */
export function importGraph(sources) {
  const files = new Set(sources.keys());
  const edges = new Map();
  for (const [file, text] of sources) {
    const targets = runtimeImports(file, text)
      .map((specifier) => resolveSpecifier(file, specifier, files))
      .filter((target) => target !== undefined);
    edges.set(file, [...new Set(targets)]);
  }
  return edges;
}

function tsFilesUnder(dir, into = new Map()) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) tsFilesUnder(path, into);
    else if (/\.(c|m)?ts$/.test(name) && !name.endsWith(".d.ts")) into.set(path, readFileSync(path, "utf8"));
  }
  return into;
}

function selfCheck() {
  const dir = "/fixture/src";
  const cyclic = new Map([
    [`${dir}/a.ts`, 'import { b } from "./b.js";\nexport const a = () => b;'],
    [`${dir}/b.ts`, 'import type { T } from "./c.js";\nexport { c } from "./c.js";\nexport const b = 1;'],
    [`${dir}/c.ts`, 'import { a } from "./a.js";\nexport type T = 1;\nexport const c = a;'],
  ]);
  const typeOnly = new Map([
    [`${dir}/a.ts`, 'import type { B } from "./b.js";\nexport type A = B;\nexport const a = 1;'],
    [
      `${dir}/b.ts`,
      'import { a } from "./a.js";\nexport type { A } from "./a.js";\nexport type B = typeof a;',
    ],
  ]);
  const found = findCycles(importGraph(cyclic));
  if (found.length !== 1 || found[0].length !== 3)
    throw new Error("self-check: a runtime cycle a -> b -> c -> a was not found");
  if (findCycles(importGraph(typeOnly)).length !== 0)
    throw new Error("self-check: a type-only cycle was reported");
}

function main() {
  selfCheck();
  const cycles = [];
  let checked = 0;
  for (const group of ["packages", "examples"]) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const src = join(base, name, "src");
      if (!existsSync(src)) continue;
      const sources = tsFilesUnder(src);
      checked += sources.size;
      cycles.push(...findCycles(importGraph(sources)));
    }
  }
  if (cycles.length > 0) {
    for (const cycle of cycles) {
      const names = cycle.map((file) => relative(root, file));
      console.error(`runtime import cycle: ${[...names, names[0]].join(" -> ")}`);
    }
    process.exit(1);
  }
  console.log(`check-cycles: no runtime import cycle in ${checked} source files`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
