/** `watch [--lesson <slug>]`: re-verifies the learner's file on every save. */
export async function watchCommand(_argv: string[]): Promise<number> {
  throw new Error('watch is not built yet');
}
