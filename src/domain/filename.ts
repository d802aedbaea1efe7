// Client file names are untrusted metadata: clean them once, on the way in.

const MAX_FILENAME_BYTES = 255

/**
 * Browsers and Node's FormData escape exactly `"`, CR and LF in multipart file names
 * (HTML spec); undo those three and nothing else, so a literal "%41" survives.
 */
export function decodeMultipartFilename (raw: string): string {
  return raw.replace(/%(22|0D|0A)/gi, (m) => decodeURIComponent(m))
}

/**
 * Keeps the last path segment (some clients send C:\fakepath\name), drops control
 * characters, trims, and caps the UTF-8 length without splitting a character.
 */
export function cleanFilename (raw: string | undefined, fallback = 'upload'): string {
  let name = (raw ?? '').split(/[\\/]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f]/g, '').trim()
  if (name === '' || name === '.' || name === '..') return fallback
  while (Buffer.byteLength(name) > MAX_FILENAME_BYTES) name = [...name].slice(0, -1).join('')
  return name
}
