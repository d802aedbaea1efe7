// A content type we pass on to storage and browsers must be a plain, well-formed media type.

// Only spaces and tabs around parameters, and printable ASCII in quoted values: nothing
// that could break a header line when the type is passed on.
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}([ \t]*;[ \t]*[a-z0-9!#$&^_.+-]+=("[\t\x20\x21\x23-\x7e]*"|[a-z0-9!#$&^_.+-]+))*$/i

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

export function normaliseContentType (value: string | undefined): string {
  const trimmed = value?.trim() ?? ''
  return MEDIA_TYPE.test(trimmed) ? trimmed : DEFAULT_CONTENT_TYPE
}
