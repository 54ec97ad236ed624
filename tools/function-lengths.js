#!/usr/bin/env node
// Lists the longest functions of the TypeScript and C++ sources, so a review can see where one function
// does too much. TypeScript is measured through the compiler's own parser (every function, method, arrow
// and function expression, nested ones counted in their parents too); C++ by brace matching from a line
// that opens a function or lambda body (`) {`, `) -> T {`, `) const {`), which is enough for this code base.
//
// Usage: node tools/function-lengths.js [--top N] [dirs...]   (default: lib native bench, top 10)
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 10;
const dirs = args.length ? args : ['lib', 'native', 'bench'];

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

function tsFunctions(file) {
  const ts = require(path.join(root, 'node_modules', 'typescript'));
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.js') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const found = [];
  const nameOf = (n) => {
    if (n.name && n.name.getText) return n.name.getText(sf);
    if (n.parent && ts.isVariableDeclaration(n.parent)) return n.parent.name.getText(sf);
    if (n.parent && ts.isPropertyAssignment(n.parent)) return n.parent.name.getText(sf);
    return '(anonymous)';
  };
  const visit = (n) => {
    if (ts.isFunctionLike(n) && n.body) {
      const start = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
      const end = sf.getLineAndCharacterOfPosition(n.end).line + 1;
      found.push({ file, name: nameOf(n), start, lines: end - start + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

function cppFunctions(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const found = [];
  const opener = /\)\s*(const\s*)?(noexcept\s*)?(override\s*)?(->\s*[\w:<>]+\s*)?(mutable\s*)?\{\s*(\/\/.*)?$/;
  for (let i = 0; i < lines.length; i++) {
    if (!opener.test(lines[i]) || /^\s*(if|for|while|switch|catch)\b/.test(lines[i]) || /\}\s*(else\s*)?(if|for|while)/.test(lines[i])) continue;
    let depth = 0;
    let end = i;
    for (let j = i; j < lines.length; j++) {
      const code = lines[j]
        .replace(/\/\/.*$/, '')
        .replace(/"(?:[^"\\]|\\.)*"/g, '""')
        .replace(/'(?:[^'\\]|\\.)*'/g, "''");
      for (const ch of code) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
      if (depth <= 0) {
        end = j;
        break;
      }
    }
    const m = /([\w:~]+)\s*\(/.exec(lines[i]) || /([\w:~]+)\s*\(/.exec(lines[i - 1] || '');
    found.push({ file, name: m ? m[1] : '(anonymous)', start: i + 1, lines: end - i + 1 });
  }
  return found;
}

const all = [];
for (const d of dirs) {
  for (const f of walk(path.join(root, d))) {
    if (/\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')) all.push(...tsFunctions(f));
    else if (/\.(cc|h|cu)$/.test(f)) all.push(...cppFunctions(f));
  }
}
all.sort((a, b) => b.lines - a.lines);
for (const f of all.slice(0, top)) console.log(`${String(f.lines).padStart(5)}  ${path.relative(root, f.file)}:${f.start}  ${f.name}`);
