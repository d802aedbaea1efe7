import t from 'tap'
import { headerText } from '../../src/domain/header-text.js'

/** What Node hands over for a header whose raw bytes are these. */
const asRead = (bytes: Buffer): string => bytes.toString('latin1')

t.test('UTF-8 bytes are read as UTF-8, latin1 bytes as latin1, ASCII as it is', async (t) => {
  t.equal(headerText('plain ascii 123'), 'plain ascii 123')
  t.equal(headerText(asRead(Buffer.from('pässwörd-ünïcode', 'utf8'))), 'pässwörd-ünïcode', 'curl -H sends UTF-8')
  t.equal(headerText(asRead(Buffer.from('pässwörd-ünïcode', 'latin1'))), 'pässwörd-ünïcode', 'fetch sends latin1 where it can')
  t.equal(headerText(asRead(Buffer.from('密码 🔑', 'utf8'))), '密码 🔑')
  t.equal(headerText(asRead(Buffer.from([0xc3]))), 'Ã', 'a lone lead byte is no UTF-8: latin1')
})
