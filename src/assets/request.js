// The upload page of a file request (src/pages.ts requestPage): picked or dropped files go one
// after the other, each its own POST to the form's action (multipart: the password first, then
// the file, as the form without this script sends it), with progress. Served as a module from
// this origin's /assets/ (the page's CSP allows no other script); nothing in it is inline. The
// build copies it into dist/.
/* global XMLHttpRequest */
const form = document.getElementById('upload')
const input = document.getElementById('file')
const drop = form.querySelector('.drop')
const progress = document.getElementById('progress')
const status = document.getElementById('status')
const sent = document.getElementById('sent')
const password = document.getElementById('password')
const button = form.querySelector('button')

input.multiple = true
input.required = false
button.hidden = true
const queue = []
let busy = false

function say (text) {
  status.textContent = text
}

/** The problem's detail (RFC 9457), or what failed. */
function failure (xhr) {
  try {
    return JSON.parse(xhr.responseText).detail
  } catch {
    return `The upload failed (${xhr.status})`
  }
}

function send (file) {
  return new Promise((resolve, reject) => {
    const body = new FormData()
    if (password !== null) body.append('password', password.value)
    body.append('file', file, file.name)
    const xhr = new XMLHttpRequest()
    xhr.open('POST', form.action)
    xhr.setRequestHeader('accept', 'application/json')
    xhr.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable) return
      progress.value = event.loaded / event.total
      say(`Sending ${file.name}: ${Math.floor(100 * event.loaded / event.total)} %`)
    })
    xhr.addEventListener('load', () => { if (xhr.status === 201) resolve(JSON.parse(xhr.responseText)); else reject(new Error(failure(xhr))) })
    xhr.addEventListener('error', () => { reject(new Error('The connection failed: try again')) })
    xhr.send(body)
  })
}

async function next () {
  if (busy) return
  busy = true
  progress.hidden = false
  while (queue.length > 0) {
    const file = queue.shift()
    progress.value = 0
    try {
      const received = await send(file)
      const item = document.createElement('li')
      item.textContent = `${received.filename}: received (${received.size} bytes)`
      sent.append(item)
      say(`${received.filename} received.`)
    } catch (err) {
      say(`${file.name}: ${err.message}`)
      queue.length = 0
    }
  }
  progress.hidden = true
  busy = false
}

function add (files) {
  if (password !== null && !password.reportValidity()) return
  queue.push(...files)
  input.value = ''
  next()
}

input.addEventListener('change', () => { add(input.files) })
form.addEventListener('submit', (event) => { event.preventDefault(); add(input.files) })
drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over') })
drop.addEventListener('dragleave', () => { drop.classList.remove('over') })
drop.addEventListener('drop', (event) => {
  event.preventDefault()
  drop.classList.remove('over')
  add(event.dataTransfer.files)
})
