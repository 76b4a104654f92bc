import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Report } from './learner-registry.ts';

/** What makes a class the same class after a restart. */
export interface ClassIdentity {
  code: string;
  teacherKey: string;
  createdAt: number;
}

/** One change to the class, in the order it happened: replaying them rebuilds the class. */
export type ClassEvent =
  | { type: 'join'; id: string; token: string; name: string; joinedAt: number }
  | { type: 'report'; token: string; report: Report };

/** Where a class is kept between runs of the class server. */
export interface ClassStore {
  /** The class kept here, with its history, or undefined for a new one. */
  load(): Promise<{ identity: ClassIdentity; events: ClassEvent[] } | undefined>;
  /**
   * Keeps a new class's identity; resolves once it is durable, with the identity in force: another
   * class server sharing the store may have created the class first, and then its identity wins.
   */
  create(identity: ClassIdentity): Promise<ClassIdentity>;
  /** Adds one change; resolves only once it would survive a crash, so nothing acknowledged is lost. */
  append(event: ClassEvent): Promise<void>;
  /**
   * For a store shared by several class servers: the changes from position `from` on (every server's,
   * in the one order they were stored), and a call whenever another server added some.
   */
  shared?: {
    since(from: number): Promise<ClassEvent[]>;
    onAppend(listener: () => void): void;
  };
  close(): Promise<void>;
}

/**
 * A class in a folder: `class.json` (code and teacher key, written to a temporary file, synced, then
 * renamed, so it is whole or absent) and `events.jsonl`, one change a line, appended and fsync'd before
 * the change is acknowledged. Changes that arrive together share one fsync. Both files are readable by
 * the teacher alone: they hold the teacher key and every learner's token.
 */
export class FolderStore implements ClassStore {
  private handle: fsp.FileHandle | undefined;
  private pending: Array<{ line: string; resolve: () => void; reject: (error: unknown) => void }> = [];
  private draining: Promise<void> | undefined;
  private locked = false;

  constructor(readonly dir: string) {}

  private get identityFile(): string {
    return path.join(this.dir, 'class.json');
  }

  private get eventsFile(): string {
    return path.join(this.dir, 'events.jsonl');
  }

  private get lockFile(): string {
    return path.join(this.dir, 'server.pid');
  }

  /**
   * Claims the folder for this process: two class servers appending to one file would each believe in
   * a different class. A claim left by a process that is gone (killed, crashed) is taken over.
   */
  private async lock(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fsp.writeFile(this.lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
        this.locked = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(await fsp.readFile(this.lockFile, 'utf8').catch(() => ''));
      if (holder && holder !== process.pid && alive(holder)) {
        throw new Error(`another class server (process ${holder}) is using ${this.dir}; stop it first, or use another --data folder.`);
      }
      await fsp.rm(this.lockFile, { force: true });
    }
    throw new Error(`${this.lockFile} could not be claimed.`);
  }

  async load(): Promise<{ identity: ClassIdentity; events: ClassEvent[] } | undefined> {
    await this.lock();
    let identity: ClassIdentity;
    try {
      identity = JSON.parse(await fsp.readFile(this.identityFile, 'utf8')) as ClassIdentity;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`${this.identityFile} cannot be read (${(error as Error).message}); move it away to start a new class.`);
    }
    if (typeof identity.code !== 'string' || typeof identity.teacherKey !== 'string') throw new Error(`${this.identityFile} is not a class.`);
    let text = '';
    try {
      text = await fsp.readFile(this.eventsFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // A kill in the middle of a write leaves a partial last line, never acknowledged: cut it off, so the
    // next change starts on a line of its own.
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      await fsp.truncate(this.eventsFile, Buffer.byteLength(text.slice(0, end)));
      text = text.slice(0, end);
    }
    const events = text.split('\n').filter(Boolean).map((line, index) => {
      try {
        return JSON.parse(line) as ClassEvent;
      } catch {
        throw new Error(`${this.eventsFile}, line ${index + 1}, is damaged; the class cannot be resumed as it was.`);
      }
    });
    await this.open();
    return { identity, events };
  }

  async create(identity: ClassIdentity): Promise<ClassIdentity> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Changes without a class.json belong to no class that can be resumed: a new class starts empty.
    await fsp.rm(this.eventsFile, { force: true });
    const temp = `${this.identityFile}.${process.pid}.tmp`;
    const file = await fsp.open(temp, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify(identity, null, 2) + '\n');
      await file.sync();
    } finally {
      await file.close();
    }
    await fsp.rename(temp, this.identityFile);
    await syncDir(this.dir);
    await this.open();
    return identity;
  }

  private async open(): Promise<void> {
    this.handle = await fsp.open(this.eventsFile, 'a', 0o600);
    await syncDir(this.dir);
  }

  append(event: ClassEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ line: JSON.stringify(event) + '\n', resolve, reject });
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    });
  }

  /** Writes whatever is waiting in one go, then one fsync for all of it (group commit). */
  private async drain(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      try {
        if (!this.handle) throw new Error('the class store is closed');
        await this.handle.appendFile(batch.map((p) => p.line).join(''));
        await this.handle.datasync();
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  }

  async close(): Promise<void> {
    await this.draining;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
    if (this.locked) await fsp.rm(this.lockFile, { force: true });
    this.locked = false;
  }
}

/** True when a process with this id is running. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes a file's creation or renaming inside `dir` durable, where the system supports it. */
async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, fs.constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Windows cannot open a folder for syncing; its renames are durable on their own.
  } finally {
    await handle?.close();
  }
}
