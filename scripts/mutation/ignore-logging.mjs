// A Stryker ignorer: what a solution prints to its own console is not behaviour a lesson asks for, so
// mutants inside console.* calls, and inside a listener that does nothing but print, are left out
// (reported as equivalent) rather than counted as survivors.
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

function isConsoleCall(node) {
  return (
    node?.type === 'CallExpression' &&
    node.callee.type === 'MemberExpression' &&
    node.callee.object.type === 'Identifier' &&
    node.callee.object.name === 'console'
  );
}

/** `() => console.log(…)` or `() => { console.log(…); }` */
function onlyPrints(fn) {
  if (fn?.type !== 'ArrowFunctionExpression' && fn?.type !== 'FunctionExpression') return false;
  if (isConsoleCall(fn.body)) return true;
  return fn.body.type === 'BlockStatement' && fn.body.body.length > 0 && fn.body.body.every((s) => s.type === 'ExpressionStatement' && isConsoleCall(s.expression));
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'logging', {
    shouldIgnore(path) {
      const node = path.node;
      if (isConsoleCall(node)) return 'console output is not part of the lesson';
      // server.on('listening', () => console.log(…)): the listener only prints.
      if (node.type === 'CallExpression' && node.arguments.length === 2 && onlyPrints(node.arguments[1])) return 'a listener that only prints';
      return undefined;
    },
  }),
];
