import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface Storage {
  dir: string;
  get(name: string): unknown;
  save(name: string, data: unknown): void;
  reset(): void;
}

/** The package name; it also names the progress folder, `~/.config/websocket-workshop`. */
export const APP_NAME = 'websocket-workshop';

/**
 * A learner's progress: the current lesson and the lessons passed. Stored exactly where
 * workshopper-adventure keeps it, so the menu and `verify` agree, without loading the menu's code.
 */
export class Progress {
  private readonly storage: Storage;

  constructor(home = process.env.HOME || process.env.USERPROFILE || '.') {
    const storage = require('workshopper-adventure-storage') as (...parts: string[]) => Storage;
    this.storage = storage(home, '.config', APP_NAME);
  }

  /** The folder progress is kept in. */
  get dir(): string {
    return this.storage.dir;
  }

  /** Slug of the current lesson, if one was selected. */
  current(): string | undefined {
    const value = this.storage.get('current');
    return typeof value === 'string' ? value : undefined;
  }

  setCurrent(slug: string): void {
    this.storage.save('current', slug);
  }

  /** Slugs of the lessons passed. */
  completed(): string[] {
    const value = this.storage.get('completed');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  }

  /** The absolute path `select` recorded for a lesson's file, if it did. */
  fileOf(slug: string): string | undefined {
    const value = this.storage.get('files') as Record<string, unknown> | null;
    const file = value?.[slug];
    return typeof file === 'string' ? file : undefined;
  }

  setFile(slug: string, file: string): void {
    const value = (this.storage.get('files') as Record<string, string> | null) ?? {};
    this.storage.save('files', { ...value, [slug]: file });
  }

  /** Whether the learner has been told once how to get the short `wsw` command. */
  toldShortCommand(): boolean {
    return this.storage.get('told-short-command') === true;
  }

  setToldShortCommand(): void {
    this.storage.save('told-short-command', true);
  }

  /** How many of a lesson's hints the learner has seen. */
  hintsSeen(slug: string): number {
    const value = this.storage.get('hints') as Record<string, number> | null;
    return value && typeof value[slug] === 'number' ? value[slug] : 0;
  }

  setHintsSeen(slug: string, count: number): void {
    const value = (this.storage.get('hints') as Record<string, number> | null) ?? {};
    this.storage.save('hints', { ...value, [slug]: count });
  }

  /** Forgets everything: current lesson, lessons done, hints seen, where files are. Lesson files are not touched. */
  reset(): void {
    this.storage.reset();
  }

  markCompleted(slug: string): void {
    const done = this.completed();
    if (!done.includes(slug)) this.storage.save('completed', [...done, slug]);
  }
}
