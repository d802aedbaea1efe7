// The owner's page (GET /, see src/pages.ts): uploads by tus (tus-js-client, served beside
// this file), which resume by themselves when the network comes back; the links they make;
// the owner's files, links and file requests. Every element is built here with
// textContent: nothing from the gateway or the user is ever parsed as markup.
/* global tus */
'use strict'
;(function () {
  const $ = (id) => document.getElementById(id)
  const csrf = document.querySelector('meta[name="csrf-token"]').content
  // A dropped connection costs at most a chunk; a proxy's body limit (100 MB at Cloudflare) is never met.
  const CHUNK_SIZE = 8 * 1024 * 1024
  // While the browser believes it is online, tus retries by itself; offline, the page waits for the network.
  const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000]

  /** An element with properties (never innerHTML) and children (strings become text). */
  function el (tag, props, ...children) {
    const node = Object.assign(document.createElement(tag), props)
    for (const child of children) if (child !== null && child !== undefined) node.append(child)
    return node
  }

  /** A button whose accessible name says what it acts on ("Delete report.pdf"), not only "Delete". */
  function button (text, label, onClick, className = 'secondary') {
    const node = el('button', { type: 'button', className, textContent: text })
    if (label !== text) node.setAttribute('aria-label', label)
    node.addEventListener('click', onClick)
    return node
  }

  /** Says `text` to screen readers (a polite live region) and shows it. */
  function announce (text) {
    $('announce').textContent = text
  }

  function size (bytes) {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
    let value = bytes
    let unit = 0
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
    return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`
  }

  function date (iso) {
    return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
  }

  class ApiError extends Error {
    constructor (status, message) { super(message); this.status = status }
  }

  /** What went wrong, in the gateway's words (a problem's detail). */
  function detail (status, body) {
    if (status === 401) return 'You are signed out: reload the page to sign in again'
    try {
      const problem = JSON.parse(body)
      if (typeof problem.detail === 'string') return problem.detail
    } catch {}
    return `the gateway answered ${status}`
  }

  /** A call to the API with the session; unsafe ones carry the CSRF token. */
  async function api (method, path, body) {
    const headers = { accept: 'application/json' }
    if (method !== 'GET') headers['x-csrf-token'] = csrf
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' })
    if (!response.ok) throw new ApiError(response.status, detail(response.status, await response.text()))
    return response
  }

  // Link options ---------------------------------------------------------------------------

  const accessSelect = $('access')
  accessSelect.addEventListener('change', () => { $('rule').hidden = accessSelect.value !== 'rule' })

  function accessText (access) {
    if (access === 'public') return 'anyone with the link'
    if (access === 'authenticated') return 'anyone signed in'
    const named = [...(access.subjects ?? []), ...(access.groups ?? []).map((g) => `group ${g}`), ...(access.domains ?? []).map((d) => `@${d}`)]
    return `only ${named.join(', ')}`
  }

  /** The options of a new link as the form says, or null (after saying what is wrong) when they are not valid. */
  function linkOptions () {
    const max = $('max-downloads')
    const password = $('password')
    const subjects = $('subjects')
    subjects.setCustomValidity('')
    const options = { ttl: Number($('ttl').value) }
    if (max.value.trim() !== '') options.maxDownloads = Number(max.value)
    if (password.value !== '') options.password = password.value
    if (accessSelect.value === 'rule') {
      const rule = {}
      for (const key of ['subjects', 'groups', 'domains']) {
        const items = [...new Set($(key).value.split(',').map((s) => s.trim()).filter((s) => s !== ''))]
        if (items.length > 0) rule[key] = key === 'domains' ? items.map((d) => d.toLowerCase()) : items
      }
      if (Object.keys(rule).length === 0) subjects.setCustomValidity('Name at least one user, group or e-mail domain')
      options.access = rule
    } else {
      options.access = accessSelect.value
    }
    for (const input of [max, password, subjects]) if (!input.reportValidity()) return null
    return options
  }

  function terms (link) {
    const downloads = link.maxDownloads === null ? `${link.downloads} downloads, no limit` : `${link.maxDownloads - link.downloads} of ${link.maxDownloads} downloads left`
    return [`expires ${date(link.expiresAt)}`, downloads, accessText(link.access), link.passwordProtected ? 'password' : null].filter((s) => s !== null).join(' · ')
  }

  async function copy (input) {
    try {
      await navigator.clipboard.writeText(input.value)
    } catch {
      input.select()
      document.execCommand('copy')
    }
    announce('Link copied')
  }

  /** Shows (or hides again) the link's QR code, below it in `item`. */
  async function toggleQr (item, url, toggle) {
    const shown = item.querySelector('img.qr')
    if (shown !== null) {
      URL.revokeObjectURL(shown.src)
      shown.remove()
      toggle.setAttribute('aria-expanded', 'false')
      return
    }
    try {
      const svg = await (await api('POST', '/v1/qr', { text: url })).blob()
      item.append(el('img', { className: 'qr', alt: 'QR code of the link', src: URL.createObjectURL(svg) }))
      toggle.setAttribute('aria-expanded', 'true')
    } catch (error) {
      announce(`No QR code: ${error.message}`)
    }
  }

  /** A new link, shown once (the gateway keeps only a hash of its token): copy it, or show its QR code. */
  function showLink (item, link) {
    const input = el('input', { type: 'text', readOnly: true, value: link.url, className: 'url' })
    input.setAttribute('aria-label', 'Link')
    input.addEventListener('focus', () => input.select())
    const qr = button('QR code', 'Show the QR code of the link', () => toggleQr(item, link.url, qr))
    qr.setAttribute('aria-expanded', 'false')
    item.append(el('div', { className: 'link' }, input, button('Copy', 'Copy the link', () => copy(input), 'primary'), qr),
      el('p', { className: 'meta', textContent: terms(link) }))
  }

  async function makeLink (fileId, options) {
    return await (await api('POST', `/v1/files/${encodeURIComponent(fileId)}/links`, options)).json()
  }

  // Uploads --------------------------------------------------------------------------------

  const queue = []
  let uploading = false

  function add (fileList) {
    const options = $('share').checked ? linkOptions() : undefined
    if (options === null) return
    for (const file of fileList) {
      const progress = el('progress', { max: 100, value: 0 })
      progress.setAttribute('aria-label', `Upload of ${file.name}`)
      const state = el('span', { className: 'meta', textContent: 'Waiting' })
      const item = el('li', {}, el('span', { className: 'name', textContent: file.name }), el('span', { className: 'meta', textContent: size(file.size) }), progress, state)
      $('uploads').prepend(item)
      queue.push({ file, options, item, progress, state })
    }
    next()
  }

  /** One upload at a time (the gateway limits how many run at once per user). */
  async function next () {
    if (uploading || queue.length === 0) return
    uploading = true
    try {
      await upload(queue.shift())
    } finally {
      uploading = false
      next()
    }
  }

  function tusDetail (error) {
    const response = error.originalResponse
    return response ? detail(response.getStatus(), response.getBody()) : 'the connection failed'
  }

  /** Resolves when the upload is done, or has failed for a reason other than the network. */
  function upload ({ file, options, item, progress, state }) {
    const say = (text) => { state.textContent = text }
    return new Promise((resolve) => {
      const transfer = new tus.Upload(file, {
        endpoint: new URL('/v1/uploads', window.location.href).href,
        chunkSize: CHUNK_SIZE,
        retryDelays: RETRY_DELAYS,
        removeFingerprintOnSuccess: true,
        headers: { 'X-CSRF-Token': csrf },
        metadata: { filename: file.name, filetype: file.type || 'application/octet-stream' },
        onProgress (sent, total) {
          const percent = total === 0 ? 100 : Math.floor(sent / total * 100)
          progress.value = percent
          say(`Uploading: ${percent} %`)
        },
        onError (error) {
          if (!navigator.onLine) {
            say('Offline: the upload resumes when the network is back')
            announce(`${file.name}: offline; the upload resumes when the network is back`)
            window.addEventListener('online', () => {
              say('Resuming')
              announce(`${file.name}: back online, resuming`)
              transfer.start()
            }, { once: true })
            return
          }
          say(`Failed: ${tusDetail(error)}`)
          announce(`${file.name}: the upload failed`)
          const retry = button('Retry', `Retry ${file.name}`, () => { retry.remove(); say('Resuming'); transfer.start() })
          item.append(retry)
          resolve()
        },
        async onSuccess ({ lastResponse }) {
          progress.value = 100
          const fileId = lastResponse.getHeader('Linkgate-File-Id')
          if (options === undefined || !fileId) {
            say('Uploaded')
          } else {
            try {
              showLink(item, await makeLink(fileId, options))
              say('Uploaded; its link:')
            } catch (error) {
              say(`Uploaded, but no link: ${error.message}`)
            }
          }
          announce(`${file.name}: uploaded`)
          refresh()
          resolve()
        }
      })
      // The same file picked again after the page was closed continues where it stopped
      // (where the browser lets the page keep that in localStorage).
      transfer.findPreviousUploads().catch(() => []).then((previous) => {
        if (previous.length > 0) transfer.resumeFromPreviousUpload(previous[0])
        say('Uploading')
        announce(`${file.name}: uploading`)
        transfer.start()
      })
    })
  }

  const picker = $('files')
  picker.addEventListener('change', () => { add(picker.files); picker.value = '' })
  const drop = $('drop')
  for (const type of ['dragenter', 'dragover']) drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add('over') })
  for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('over'))
  drop.addEventListener('drop', (event) => { event.preventDefault(); add(event.dataTransfer.files) })
  // A file dropped beside the zone is not opened in place of the page.
  for (const type of ['dragover', 'drop']) window.addEventListener(type, (event) => event.preventDefault())

  // Files, links and requests ---------------------------------------------------------------

  const files = new Map()

  /** A list of the API's pages (`{ items, next }`): loads the first page, and more on demand. */
  function listing (id, path, render, unavailable) {
    const list = $(id)
    const status = $(`${id}-status`)
    const more = $(`${id}-more`)
    let cursor = null
    async function load (first) {
      try {
        const page = await (await api('GET', `${path}?limit=50${first ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)).json()
        if (first) list.replaceChildren()
        for (const item of page.items) list.append(render(item))
        cursor = page.next
        more.hidden = cursor === null
        status.textContent = list.childElementCount === 0 ? 'None yet.' : ''
      } catch (error) {
        status.textContent = error.status === 404 && unavailable ? unavailable : error.message
      }
    }
    more.addEventListener('click', () => load(false))
    return load
  }

  /** Does `action` after asking, then reloads the lists. */
  async function act (question, action, done) {
    if (question !== null && !window.confirm(question)) return
    try {
      await action()
      announce(done)
      refresh()
    } catch (error) {
      announce(error.message)
    }
  }

  async function share (file) {
    const options = linkOptions()
    if (options === null) return
    const item = el('li', {}, el('span', { className: 'name', textContent: file.filename }))
    try {
      showLink(item, await makeLink(file.id, options))
      $('uploads').prepend(item)
      announce(`A new link to ${file.filename}, above`)
      item.querySelector('input').focus()
      refresh()
    } catch (error) {
      announce(`No link: ${error.message}`)
    }
  }

  const actions = (...buttons) => el('div', { className: 'actions' }, ...buttons)

  const loadFiles = listing('file-list', '/v1/files', (file) => {
    files.set(file.id, file)
    const meta = [size(file.size), `uploaded ${date(file.createdAt)}`, file.expiresAt === null ? null : `deleted ${date(file.expiresAt)}`]
    return el('li', {},
      el('span', { className: 'name', textContent: file.filename }),
      el('span', { className: 'meta', textContent: meta.filter((s) => s !== null).join(' · ') }),
      actions(
        button('New link', `New link to ${file.filename}`, () => share(file)),
        button('Delete', `Delete ${file.filename}`, () => act(`Delete ${file.filename} and every link to it?`,
          () => api('DELETE', `/v1/files/${encodeURIComponent(file.id)}`), `${file.filename} deleted`), 'danger')))
  })

  const loadLinks = listing('link-list', '/v1/links', (link) => {
    const name = files.get(link.fileId)?.filename ?? `file ${link.fileId}`
    return el('li', {},
      el('span', { className: 'name', textContent: `${name}: ${link.status}` }),
      el('span', { className: 'meta', textContent: terms(link) }),
      link.status !== 'active'
        ? null
        : actions(button('Revoke', `Revoke this link to ${name}`, () => act(`Revoke this link to ${name}? Nobody can use it afterwards.`,
          () => api('DELETE', `/v1/links/${encodeURIComponent(link.id)}`), 'Link revoked'), 'danger')))
  })

  const loadRequests = listing('request-list', '/v1/requests', (request) => {
    const message = request.message ?? ''
    const title = message === '' ? 'File request' : message.length > 80 ? `${message.slice(0, 79)}…` : message
    const meta = [`${request.received.files} of ${request.maxFiles} files`, `${size(request.received.bytes)} of ${size(request.maxBytes)}`, `expires ${date(request.expiresAt)}`]
    return el('li', {},
      el('span', { className: 'name', textContent: `${title}: ${request.status}` }),
      el('span', { className: 'meta', textContent: meta.join(' · ') }),
      request.status === 'expired' || request.status === 'revoked'
        ? null
        : actions(button('Revoke', `Revoke the request "${title}"`, () => act(`Revoke the request "${title}"? Nobody can upload through it afterwards.`,
          () => api('DELETE', `/v1/requests/${encodeURIComponent(request.id)}`), 'Request revoked'), 'danger')))
  }, 'File requests are not available on this gateway.')

  /** Reloads the lists: the files first, which name the links. */
  async function refresh () {
    await loadFiles(true)
    await Promise.all([loadLinks(true), loadRequests(true)])
  }

  refresh()
})()
