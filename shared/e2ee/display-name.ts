// Display names as participants sign them into their announcements: the rule
// itself is shared/display-name.ts; here it becomes the agent's coded result.

import { displayNameProblem } from '../display-name.ts';
import { fail, ok, type Result } from './errors.ts';

/** A name is 0-64 code points, without forbidden characters or surrounding whitespace. */
export function checkDisplayName(name: unknown): Result<string> {
  const problem = displayNameProblem(name);
  return problem === undefined ? ok(name as string) : fail('INVALID_ARGUMENT', problem);
}
