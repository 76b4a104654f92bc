import { createRequire } from 'node:module';
import { lessonNumber, lessons } from '../lessons.ts';
import { ROOT } from '../paths.ts';
import { APP_NAME } from '../progress.ts';
import { printHelp } from './help.ts';
import { listCommand, selectCommand } from './lesson-commands.ts';
import { colour, colourOn } from './output.ts';

const require = createRequire(import.meta.url);

/** The part of a workshopper-adventure instance this CLI uses. */
interface Shop {
  execute(args: string[]): unknown;
  add(name: string, fn: () => object): unknown;
  cli: { commands: Array<{ aliases: string[]; handler: (shop: Shop, args: string[]) => unknown; menu?: boolean }> };
}

/** The menu's own commands that lead to the workshop's, so every way in gives the same answers. */
const OURS: Record<string, (args: string[]) => number> = {
  select: (args) => selectCommand(args),
  help: () => (printHelp(), 0),
  list: () => listCommand(),
};

/**
 * Opens workshopper-adventure's menu of lessons and resolves with the exit code of what the learner
 * chose there. Under NO_COLOR the menu marks the chosen line by reverse video instead of colours.
 */
export function openMenu(): Promise<number> {
  if (!colourOn) withoutColours();
  return new Promise((resolve) => {
    const shop = createShop(resolve);
    shop.execute([]);
  });
}

function createShop(done: (code: number) => void): Shop {
  const adventure = require('workshopper-adventure') as (options: object) => Shop;
  const names: Record<string, string> = {};
  for (const lesson of lessons) names[`exercise.${lesson.slug}`] = `${String(lessonNumber(lesson)).padStart(2, '0')} · ${lesson.title}`;
  const columns = process.stdout.columns || 80;
  const shop = adventure({
    name: APP_NAME,
    appDir: ROOT,
    // Shown by workshopper's credits screen; the workshop's own folder is the honest answer offline.
    appRepo: ROOT,
    title: 'WEBSOCKET WORKSHOP',
    subtitle: 'Pick a lesson and press Enter',
    languages: ['en'],
    // The menu draws a box this wide; on a narrow terminal it must still fit.
    menu: { width: Math.max(30, Math.min(73, columns - 6)), x: 2, y: 2 },
    hideRemaining: true,
    ...names,
  });
  for (const lesson of lessons) shop.add(lesson.slug, () => ({ problem: { text: lesson.title, type: 'md' } }));
  // "Check for update" asks the npm registry; the workshop must work offline, and npm updates it.
  shop.cli.commands = shop.cli.commands.filter((command) => command.aliases[0] !== 'update');
  for (const command of shop.cli.commands) {
    const ours = OURS[command.aliases[0]!];
    if (!ours) continue;
    command.handler = (_shop, args) => {
      try {
        done(ours(args));
      } catch (error) {
        process.stdout.write(`${colour.red((error as Error).message)}\n`);
        done(2);
      }
    };
  }
  return shop;
}

/** Replaces the menu's colours with reverse video for the chosen line: NO_COLOR asks for no colour. */
function withoutColours(): void {
  type Charm = { display(attribute: string): Charm };
  type MenuRow = { charm: Charm; selected: number; entries: unknown[] };
  const fromMenu = createRequire(require.resolve('extended-terminal-menu'));
  const charm = Object.getPrototypeOf((fromMenu('charm') as () => object)()) as Record<string, unknown>;
  if (charm.withoutColours) return;
  charm.withoutColours = true;
  charm.background = function (this: Charm) {
    return this;
  };
  charm.foreground = charm.background;
  const menu = (require('extended-terminal-menu') as { prototype: Record<string, (this: MenuRow, index: number) => void> }).prototype;
  const drawRow = menu._drawRow!;
  menu._drawRow = function (this: MenuRow, index: number) {
    const row = (index + this.entries.length) % this.entries.length;
    if (row === this.selected) this.charm.display('reverse');
    drawRow.call(this, index);
    this.charm.display('reset');
  };
}
