// The retention sweeper: deletes files whose retention is over (record, links, then the
// object). Every instance runs it; the LinkStore's claim hands each due file to exactly
// one of them, and the claim state lives in the store, so a restart loses nothing: a
// claim whose instance died lapses and the file is swept again. Each pass also removes
// what uploads that failed with the link store down left behind (their orphan markers).
import fp from 'fastify-plugin'
import { ORPHANS, objectKey } from '../src/stores/object-store.js'

const LEASE_MS = 5 * 60 * 1000
const BATCH = 100

export interface Sweeper {
  /** One pass; resolves with the number of files this instance deleted. */
  runOnce: (now?: number) => Promise<number>
}

declare module 'fastify' {
  interface FastifyInstance {
    sweeper: Sweeper
  }
}

export default fp(async function sweeperPlugin (fastify) {
  const { linkStore, objectStore } = fastify

  /**
   * An upload whose record could not be written nor removed left a marker: its record (if it
   * landed after all), its object, then the marker go. Idempotent, so instances may race.
   */
  async function reapOrphans (): Promise<void> {
    for (const marker of await objectStore.list(ORPHANS, BATCH)) {
      const id = marker.slice(ORPHANS.length)
      await linkStore.deleteFile(id)
      await objectStore.delete(objectKey(id))
      await objectStore.delete(marker)
      fastify.log.info({ fileId: id }, 'sweeper: removed what a failed upload left')
    }
  }

  async function runOnce (now = Date.now()): Promise<number> {
    // Apart: a bucket the gateway may not list must not stop the retention.
    await reapOrphans().catch((err: Error) => { fastify.log.warn({ err: { message: err.message } }, 'sweeper: failed uploads not cleaned up this pass') })
    let deleted = 0
    for (;;) {
      const due = await linkStore.claimExpiredFiles(now, LEASE_MS, BATCH)
      for (const file of due) {
        // Record and links first: a link must never point at a missing object.
        if (await linkStore.deleteFile(file.id) === null) continue
        await objectStore.delete(file.key).catch((err: Error) => {
          fastify.log.error({ err: { message: err.message }, fileId: file.id }, 'retention: object left behind (the bucket lifecycle rule is the backstop)')
        })
        fastify.audit(null, 'file.deleted', { fileId: file.id, sub: file.owner, bytes: file.size, reason: 'retention' })
        deleted++
      }
      if (due.length < BATCH) return deleted
    }
  }

  // One pass at a time: a tick while a pass still runs is skipped.
  let running: Promise<void> | null = null
  const timer = setInterval(() => {
    running ??= runOnce()
      .then(() => {}, (err: Error) => { fastify.log.warn({ err: { message: err.message } }, 'retention sweep failed') })
      .finally(() => { running = null })
  }, fastify.config.sweepInterval * 1000).unref()

  fastify.decorate('sweeper', { runOnce })
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await running
  })
}, { name: 'sweeper', dependencies: ['stores', 'object-store', 'audit'] })
