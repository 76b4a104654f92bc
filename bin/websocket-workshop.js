#!/usr/bin/env node
// The workshop's command. The sources are TypeScript, run through tsx: no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Our own commands are finished: exit now rather than wait on whatever a learner's code left open.
if (code !== undefined) process.exit(code);
