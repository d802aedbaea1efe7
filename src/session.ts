// What the browser session's cookies hold (plugins/session.ts seals them).

export const SESSION_COOKIE = 'lg_session'
export const SIGN_IN_COOKIE = 'lg_signin'

export interface SessionUser {
  sub: string
  groups: string[]
  email: string | null
  /** The X-CSRF-Token of this session's unsafe API calls and the value its forms carry. */
  csrf: string
}

export interface SignInState {
  state: string
  nonce: string
  codeVerifier: string
  /** A path on this gateway to return to. */
  returnTo: string
}
