// A class verifying at the same moment on one machine: every verification gets the verdict it would
// get alone. Each port is checked free and never handed out twice, and nothing on disk is shared, so none collide.
import path from 'node:path';
import { expect, it } from 'vitest';
import { findLesson } from '../src/lessons.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { verify } from './support.ts';

const cases = [
  { lesson: '01-http-vs-websocket', file: lessonPaths('01-http-vs-websocket').solution, code: undefined },
  { lesson: '02-echo-server', file: lessonPaths('02-echo-server').solution, code: undefined },
  { lesson: '02-echo-server', file: path.join(ROOT, 'verify/fixtures/02-echo-server/text-as-binary.ts'), code: 'ECHO_TEXT_BECAME_BINARY' },
  { lesson: '03-broadcast', file: lessonPaths('03-broadcast').solution, code: undefined },
  { lesson: '03-broadcast', file: path.join(ROOT, 'verify/fixtures/03-broadcast/echoes-to-sender.ts'), code: 'BROADCAST_ECHOED_TO_SENDER' },
  { lesson: '04-lifecycle', file: lessonPaths('04-lifecycle').solution, code: undefined },
  { lesson: '04-lifecycle', file: path.join(ROOT, 'verify/fixtures/04-lifecycle/empty-close-handler.ts'), code: 'LIFECYCLE_PRESENCE_LEAK' },
  { lesson: '02-echo-server', file: path.join(ROOT, 'verify/fixtures/harness/wrong-port.ts'), code: 'WRONG_PORT' },
];

it(`gives ${cases.length} verifications started at once the verdicts they get alone`, async () => {
  const verdicts = await Promise.all(cases.map((c) => verify(findLesson(c.lesson), c.file)));
  expect(verdicts.map((v) => v.failure?.code)).toEqual(cases.map((c) => c.code));
  const ports = verdicts.map((v) => /PORT=(\d+)/.exec(v.transcript[0]!.text)?.[1]);
  expect(new Set(ports).size, 'each verification has a port of its own').toBe(cases.length);
});
