// Link-preview bots (chat apps, social networks, mail scanners) fetch a shared link before
// the person does; a limited link must not be spent on them. isbot's maintained list
// recognises them, but it flags every client that is not a browser: the HTTP libraries and
// command-line clients of scripts, whose users asked for the file themselves, are told
// apart by name, and any client can say so by asking first for an application/* type
// (JSON, octet-stream), which preview bots never do.
import { isbot } from 'isbot'

const API_CLIENTS = /^(curl|wget|httpie|python|aiohttp|go-http-client|okhttp|axios|node|undici|lightmyrequest|got|postmanruntime|insomnia|aws-sdk|java\/|apache-httpclient|libwww-perl|php|ruby|dart|reqwest|rclone)\b/i

/** An Accept header whose first type is application/* but not XHTML. */
const API_ACCEPT = /^\s*application\/(?!xhtml\+xml)[a-z0-9!#$&^_.+*-]+/i

export function isPreviewBot (userAgent: string | undefined, accept?: string): boolean {
  if (userAgent === undefined || !isbot(userAgent) || API_CLIENTS.test(userAgent)) return false
  return accept === undefined || !API_ACCEPT.test(accept)
}
