/** Deepest JSON nesting a request body may have: far beyond any real body, far below any stack limit. */
export const MAX_JSON_DEPTH = 64;

export class JsonTooDeepError extends Error {
  readonly code = 'GH_JSON_TOO_DEEP';
  readonly statusCode = 400;
  constructor() {
    super(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
}

/** True when `text` opens more than `max` arrays/objects at once (brackets inside strings don't count). One pass. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}
