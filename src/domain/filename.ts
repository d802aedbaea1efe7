// Client file names are untrusted metadata: clean them once, on the way in.

const MAX_FILENAME_BYTES = 255

/**
 * Browsers and Node's FormData escape exactly `"`, CR and LF in multipart file names
 * (HTML spec); undo those three and nothing else, so a literal "%41" survives.
 */
export function decodeMultipartFilename (raw: string): string {
  return raw.replace(/%(22|0D|0A)/gi, (m) => decodeURIComponent(m))
}

// C0 and C1 controls, and the bidirectional overrides that make "gpj.exe" display as "exe.jpg".
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** The longest prefix of `name` within `max` UTF-8 bytes, whole characters only. */
function truncateUtf8 (name: string, max: number): string {
  let bytes = 0
  let end = 0
  for (const char of name) {
    bytes += Buffer.byteLength(char)
    if (bytes > max) break
    end += char.length
  }
  return name.slice(0, end)
}

/**
 * Keeps the last path segment (some clients send C:\fakepath\name), drops control and
 * direction-override characters, trims, and caps the UTF-8 length without splitting a
 * character.
 */
export function cleanFilename (raw: string | undefined, fallback = 'upload'): string {
  let name = (raw ?? '').split(/[\\/]/).pop() ?? ''
  name = name.replace(LONE_SURROGATE, '\ufffd').replace(INVISIBLE, '').trim()
  if (name === '' || name === '.' || name === '..') return fallback
  return truncateUtf8(name, MAX_FILENAME_BYTES)
}
