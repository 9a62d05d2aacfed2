// Meeting links for tests, benches and scripts: the stable automation URL
// `/?meeting=ID&name=NAME&join=1#s=SECRET`. Every page of one meeting gets the
// same secret (a fresh one per meeting ID and process), as people who were
// sent the same link would.

import { randomBytes } from 'node:crypto';

const secrets = new Map<string, string>();

/** The link secret (43 base64url characters) for a meeting ID, made once per process. */
export function linkSecretFor(meetingId: string): string {
  let s = secrets.get(meetingId);
  if (!s) {
    s = randomBytes(32).toString('base64url');
    secrets.set(meetingId, s);
  }
  return s;
}

/** `#s=SECRET` for a meeting: the fragment to append to its URL. */
export function linkFragment(meetingId: string): string {
  return `#s=${linkSecretFor(meetingId)}`;
}
