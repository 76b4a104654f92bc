// The type checker's own process, started by type-checker.ts while the verifier runs the learner's
// file. It reads one request a line on stdin, {"id":1,"file":"/abs/file.ts"}, and answers each on
// stdout, {"id":1,"outcome":{…}}. It stays up between requests (watch asks after every save), so the
// library files TypeScript needs are parsed once, and it exits when stdin ends.
// Plain JavaScript on purpose: started without a TypeScript loader, it is checking sooner.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';

/** @type {{ compilerOptions: object, packagesDir: string, cacheDir: string }} */
const settings = JSON.parse(process.argv[2] ?? '{}');

/** @type {typeof import('typescript')} */
let ts;
try {
  ts = createRequire(import.meta.url)('typescript');
} catch (error) {
  process.stdout.write(`${JSON.stringify({ fatal: `TypeScript could not be loaded (${error.message.split('\n')[0]})` })}\n`);
  process.exit(0);
}

const options = {
  ...ts.convertCompilerOptionsFromJson(settings.compilerOptions, settings.packagesDir).options,
  // `types: ["node"]` is looked up among the workshop's packages, wherever the learner's file is.
  typeRoots: [path.join(settings.packagesDir, '@types')],
  incremental: true,
};
/** Imports that the file's own folder cannot resolve are resolved from the workshop's folder, as they run. */
const FALLBACK_IMPORTER = path.join(path.dirname(settings.packagesDir), 'index.ts');

/** The file being checked: only its format is decided as the verifier decides it. */
let learnerFile = '';
/** Parsed files, kept between checks: the standard library and Node's types hardly ever change. */
const parsed = new Map();
/** The last check's program, which the next check of the same file starts from. */
let previous;

const host = ts.createIncrementalCompilerHost(options);
// What tsc itself does: JSDoc comments say nothing about type errors in TypeScript files.
host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors;
const parse = host.getSourceFile.bind(host);
host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
  const createOptions = asModuleWhenWrittenSo(fileName, languageVersionOrOptions);
  let key;
  try {
    // A package's files are known by their size and time; the learner's own, which may be saved twice
    // within a tick, by their text.
    const stat = fs.statSync(fileName);
    const version = /[\\/]node_modules[\\/]/.test(fileName) ? `${stat.mtimeMs}:${stat.size}` : fs.readFileSync(fileName, 'utf8');
    key = `${JSON.stringify(createOptions)}\n${version}`;
  } catch {
    return parse(fileName, createOptions, onError, shouldCreate);
  }
  const cached = parsed.get(fileName);
  if (cached?.key === key) return cached.sourceFile;
  const sourceFile = parse(fileName, createOptions, onError, shouldCreate);
  if (sourceFile) parsed.set(fileName, { key, sourceFile });
  return sourceFile;
};
host.resolveModuleNameLiterals = (literals, containingFile, redirectedReference, compilerOptions, sourceFile) =>
  literals.map((literal) => {
    const mode = ts.getModeForUsageLocation(sourceFile, literal, compilerOptions);
    const resolve = (from) => ts.resolveModuleName(literal.text, from, compilerOptions, host, undefined, redirectedReference, mode);
    const own = resolve(containingFile);
    const bare = !literal.text.startsWith('.') && !path.isAbsolute(literal.text) && !literal.text.includes(':');
    return own.resolvedModule || !bare ? own : resolve(FALLBACK_IMPORTER);
  });
// Written whole or not at all: two checks of one file at once must not leave half a cache behind.
host.writeFile = (fileName, text) => {
  try {
    fs.mkdirSync(path.dirname(fileName), { recursive: true });
    const partial = `${fileName}.${process.pid}`;
    fs.writeFileSync(partial, text);
    fs.renameSync(partial, fileName);
  } catch {
    // Without a cache the next check is only slower.
  }
};

/**
 * The verifier runs a .ts file written with import/export as an ES module in any folder (see
 * verify/harness/runtime/resolve-hook.mjs); TypeScript would take it for CommonJS outside a
 * "type": "module" package and flag its top-level await. Same rule, so the check agrees with the run.
 */
function asModuleWhenWrittenSo(fileName, languageVersionOrOptions) {
  const createOptions = typeof languageVersionOrOptions === 'object' ? languageVersionOrOptions : { languageVersion: languageVersionOrOptions };
  if (fileName !== learnerFile || !fileName.endsWith('.ts') || createOptions.impliedNodeFormat !== ts.ModuleKind.CommonJS) return createOptions;
  let source;
  try {
    source = fs.readFileSync(fileName, 'utf8');
  } catch {
    return createOptions;
  }
  const esm =
    /\bimport\.meta\b/.test(source) ||
    (/^\s*(import\s*[\w{*'"]|export\s)/m.test(source) && !/(^|[^\w.])require\s*\(|\bmodule\.exports\b/m.test(source));
  return esm ? { ...createOptions, impliedNodeFormat: ts.ModuleKind.ESNext } : createOptions;
}

/** Type-checks one file: the errors in that file only, never those inside the libraries it uses. */
function check(file) {
  const started = performance.now();
  if (!fs.existsSync(file)) return { kind: 'skipped', reason: 'the file is gone' };
  learnerFile = file;
  const fileOptions = { ...options, tsBuildInfoFile: path.join(settings.cacheDir, `${crypto.createHash('sha1').update(file).digest('hex')}.tsbuildinfo`) };
  let old = previous?.file === file ? previous.program : undefined;
  if (!old) {
    try {
      // From an earlier run: when the file has not changed since, its errors are known already.
      old = ts.readBuilderProgram(fileOptions, host);
    } catch {
      old = undefined;
    }
  }
  const program = ts.createEmitAndSemanticDiagnosticsBuilderProgram([file], fileOptions, host, old);
  previous = { file, program };
  const source = program.getSourceFile(file);
  if (!source) return { kind: 'skipped', reason: 'TypeScript could not read the file' };
  // The run reports a syntax error better, with the line: type errors after it would only be noise.
  if (program.getSyntacticDiagnostics(source).length > 0) return { kind: 'unparsable' };
  const diagnostics = program.getSemanticDiagnostics(source);
  // With noEmit, this writes only the cache.
  program.emit();
  const errors = diagnostics
    .filter((d) => d.category === ts.DiagnosticCategory.Error && d.file === source && d.start !== undefined)
    .map((d) => {
      const { line, character } = source.getLineAndCharacterOfPosition(d.start);
      return { file, line: line + 1, column: character + 1, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') };
    });
  return { kind: 'checked', errors, ms: Math.round(performance.now() - started) };
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  let outcome;
  try {
    outcome = check(path.resolve(request.file));
  } catch (error) {
    outcome = { kind: 'skipped', reason: `TypeScript failed (${String(error?.message ?? error).split('\n')[0]})` };
  }
  process.stdout.write(`${JSON.stringify({ id: request.id, outcome })}\n`);
});
lines.on('close', () => process.exit(0));
