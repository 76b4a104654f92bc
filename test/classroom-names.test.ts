// Names a teacher can trust: one spelling for one name (NFC), no text-direction tricks or invisible
// characters, and two learners with the same name told apart on the feed and in the CSV.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClassServer, type ClassServer } from '../src/classroom/class-server.ts';
import type { LearnerView } from '../src/classroom/learner-registry.ts';
import { parseName } from '../src/classroom/names.ts';

const CODE = 'NAMESCODE2';
const KEY = 'names-teacher-key';
let server: ClassServer;
let base: string;

beforeAll(async () => {
  server = await startClassServer({ host: '127.0.0.1', code: CODE, teacherKey: KEY });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.close());

async function join(name: string): Promise<{ status: number; error?: string; id?: string }> {
  const response = await fetch(`${base}/join`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, code: CODE }) });
  return { status: response.status, ...((await response.json()) as { error?: string; id?: string }) };
}

describe('learner names', () => {
  it('are kept in NFC, with spaces and control characters made one space', () => {
    expect(parseName('Zoe\u0308')).toBe('Zoë');
    expect(parseName('  Ada\t\n  Lovelace ')).toBe('Ada Lovelace');
    expect(parseName('👩‍💻 Grace')).toBe('👩‍💻 Grace');
  });

  it('are refused, naming the character, when they hold a text-direction control or an invisible character', async () => {
    const bidi = await join('Bob\u202Eecilam');
    expect(bidi).toMatchObject({ status: 400, error: expect.stringContaining('text-direction control (U+202E)') });
    for (const [name, char] of [['Al\u200Bice', 'U+200B'], ['\uFEFFEve', 'U+FEFF'], ['Ma\u00ADllory', 'U+00AD'], ['\u3164', 'U+3164'], ['x\u2066y', 'U+2066']] as const) {
      const refused = await join(name);
      expect(refused.status, name).toBe(400);
      expect(refused.error, name).toContain(char);
    }
    expect(server.registry.size, 'none of them joined').toBe(0);
  });

  it('that read the same are told apart on the feed and in the CSV', async () => {
    const first = await join('Zoë');
    const second = await join('Zoe\u0308');
    const third = await join('ZOË');
    expect([first.status, second.status, third.status]).toEqual([201, 201, 201]);
    const views = server.registry.views().filter((v) => v.name.toLowerCase() === 'zoë');
    expect(views.map((v: LearnerView) => [v.name, v.label])).toEqual([['Zoë', 'Zoë'], ['Zoë', 'Zoë (2)'], ['ZOË', 'ZOË (3)']]);

    const csv = await (await fetch(`${base}/export.csv?key=${KEY}`)).text();
    const rows = csv.trim().split('\r\n').slice(1);
    expect(rows.map((row) => row.split(',').slice(0, 2).join(','))).toEqual([
      `"Zoë","${first.id}"`, `"Zoë (2)","${second.id}"`, `"ZOË (3)","${third.id}"`,
    ]);
  });
});
