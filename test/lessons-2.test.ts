// Share 2 of 3 of the lessons (every third lesson of the manifest from the 2nd), proven as
// test/lesson-proof.ts says.
import { proveLessons } from './lesson-proof.ts';

proveLessons(2);
