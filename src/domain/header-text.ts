// Header values as their senders meant them. Node reads a header's bytes as latin1; curl
// and most clients send UTF-8, browsers' fetch sends latin1 for what latin1 can hold.

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The UTF-8 text of the header's bytes when they are valid UTF-8, else the latin1 text Node read. */
export function headerText (value: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(value)) return value
  try {
    return utf8.decode(Buffer.from(value, 'latin1'))
  } catch {
    return value
  }
}
