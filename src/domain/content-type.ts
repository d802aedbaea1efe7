// A content type we pass on to storage and browsers must be a plain, well-formed media type.

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}(\s*;\s*[a-z0-9!#$&^_.+-]+=("[^"\r\n]*"|[a-z0-9!#$&^_.+-]+))*$/i

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

export function normaliseContentType (value: string | undefined): string {
  const trimmed = value?.trim() ?? ''
  return MEDIA_TYPE.test(trimmed) ? trimmed : DEFAULT_CONTENT_TYPE
}
